/**
 * There is no Docker engine here, so `docker build` never runs in CI: these tests parse the
 * Dockerfile and check what can be checked statically, including that it keeps the runtime
 * contract of the image `npm run image` builds (scripts/image/definition.ts; test/image proves that one).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LABELS, RUNTIME, USERS } from '../../../scripts/image/definition.js';

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | undefined;
  body: Instruction[];
}

/** Instructions with line continuations joined and comments dropped (enough for this Dockerfile). */
function parseDockerfile(text: string): { globalArgs: Instruction[]; stages: Stage[] } {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (current === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(current + line);
    current = '';
  }
  const globalArgs: Instruction[] = [];
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, op = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const ins = { op: op.toUpperCase(), args };
    if (ins.op === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ from: m?.[1] ?? args, name: m?.[2], body: [] });
    } else if (stages.length === 0) {
      globalArgs.push(ins);
    } else {
      stages.at(-1)!.body.push(ins);
    }
  }
  return { globalArgs, stages };
}

const dockerfile = parseDockerfile(readFileSync('Dockerfile', 'utf8'));
const runtime = dockerfile.stages.at(-1)!;
const ops = (stage: Stage, op: string) => stage.body.filter((i) => i.op === op).map((i) => i.args);

describe('Dockerfile', () => {
  it('has build, prod-deps and runtime stages', () => {
    expect(dockerfile.stages.map((s) => s.name)).toEqual(['build', 'prod-deps', 'runtime']);
  });

  it('builds on the full Node 24 (LTS) image, the Node line of the layout image', () => {
    expect(dockerfile.globalArgs).toContainEqual({
      op: 'ARG',
      args: 'BUILD_IMAGE=docker.io/library/node:24-bookworm',
    });
    expect(dockerfile.stages[0]!.from).toBe('${BUILD_IMAGE}');
    expect(ops(dockerfile.stages[0]!, 'RUN')).toContain('npm run build');
  });

  it('runs on cgr.dev/chainguard/node pinned by an overridable digest ARG with a default', () => {
    expect(runtime.from).toBe('${BASE_IMAGE}@${BASE_DIGEST}');
    expect(dockerfile.globalArgs).toContainEqual({ op: 'ARG', args: 'BASE_IMAGE=cgr.dev/chainguard/node' });
    const digestArg = dockerfile.globalArgs.find((a) => a.op === 'ARG' && a.args.startsWith('BASE_DIGEST'));
    expect(digestArg?.args).toMatch(/^BASE_DIGEST=sha256:[0-9a-f]{64}$/);
  });

  it('says where the default digest came from and how to refresh it', () => {
    const text = readFileSync('Dockerfile', 'utf8');
    expect(text).toMatch(
      /# BASE_DIGEST default: .*\n(#.*\n)*#\s+crane digest cgr\.dev\/chainguard\/node:latest/,
    );
  });

  it('installs only production dependencies for the runtime', () => {
    const prodDeps = dockerfile.stages.find((s) => s.name === 'prod-deps')!;
    expect(ops(prodDeps, 'RUN').join(' ')).toMatch(/npm ci --omit=dev/);
  });

  it('copies only production node_modules, compiled JS and package.json into the runtime stage', () => {
    expect(ops(runtime, 'COPY')).toEqual([
      '--from=prod-deps /src/node_modules ./node_modules',
      '--from=build /src/dist/src ./dist/src',
      '--from=build /src/package.json ./package.json',
    ]);
    expect(ops(runtime, 'RUN')).toEqual([]);
  });

  it('runs as the numeric non-root user of the layout image (so runAsNonRoot can be verified)', () => {
    expect(ops(runtime, 'USER')).toEqual([`${USERS.uid}:${USERS.gid}`]);
  });

  it('starts the compiled CLI the package bin runs when packed, with serve on 8443, as the layout image does', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { bin: { imagegate: string } };
    // bin/imagegate.js runs the source in a clone and dist/src/cli/main.js in a packed install (the image).
    expect(readFileSync(pkg.bin.imagegate, 'utf8')).toContain("'../dist/src/cli/main.js'");
    expect(ops(runtime, 'ENTRYPOINT')).toEqual(['["/usr/bin/node", "/app/dist/src/cli/main.js"]']);
    expect(ops(runtime, 'ENTRYPOINT')).toEqual([JSON.stringify(RUNTIME.entrypoint).replace(',', ', ')]);
    expect(ops(runtime, 'CMD')).toEqual([JSON.stringify(RUNTIME.cmd)]);
    expect(ops(runtime, 'EXPOSE')).toEqual(RUNTIME.exposedPorts.map((p) => p.replace('/tcp', '')));
    expect(ops(runtime, 'WORKDIR')).toEqual([RUNTIME.workingDir]);
  });

  it('labels the image with OCI annotations including the base name and digest', () => {
    const labels = ops(runtime, 'LABEL').join(' ');
    for (const key of ['title', 'source', 'version', 'revision', 'licenses', 'base.name', 'base.digest']) {
      expect(labels).toContain(`org.opencontainers.image.${key}=`);
    }
    for (const [key, value] of Object.entries(LABELS)) expect(labels).toContain(`${key}="${value}"`);
    expect(labels).toContain('org.opencontainers.image.base.name="${BASE_IMAGE}"');
    expect(labels).toContain('org.opencontainers.image.base.digest="${BASE_DIGEST}"');
  });

  it('keeps secrets, dependencies and tests out of the build context', () => {
    const ignored = readFileSync('.dockerignore', 'utf8').split('\n');
    for (const entry of ['.git', 'node_modules', 'dist', 'build', '.tools', 'test', '.env*'])
      expect(ignored).toContain(entry);
  });
});
