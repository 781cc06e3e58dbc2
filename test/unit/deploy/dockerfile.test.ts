/**
 * There is no Docker engine here, so the image is never built in CI: these tests parse the
 * Dockerfile and check what can be checked statically.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

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

  it('builds on the full Node 20 image', () => {
    expect(dockerfile.globalArgs).toContainEqual({
      op: 'ARG',
      args: 'BUILD_IMAGE=docker.io/library/node:20-bookworm',
    });
    expect(dockerfile.stages[0]!.from).toBe('${BUILD_IMAGE}');
    expect(ops(dockerfile.stages[0]!, 'RUN')).toContain('npm run build');
  });

  it('runs on cgr.dev/chainguard/node pinned by a digest ARG that has no made-up default', () => {
    expect(runtime.from).toBe('${BASE_IMAGE}@${BASE_DIGEST}');
    expect(dockerfile.globalArgs).toContainEqual({ op: 'ARG', args: 'BASE_IMAGE=cgr.dev/chainguard/node' });
    expect(dockerfile.globalArgs).toContainEqual({ op: 'ARG', args: 'BASE_DIGEST' });
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

  it('runs as a numeric non-root user (so runAsNonRoot can be verified by the kubelet)', () => {
    const users = ops(runtime, 'USER');
    expect(users).toHaveLength(1);
    const [uid, gid] = users[0]!.split(':').map(Number);
    expect(uid).toBeGreaterThan(0);
    expect(gid).toBeGreaterThan(0);
  });

  it('starts the package bin with serve on 8443', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { bin: { imagegate: string } };
    expect(ops(runtime, 'ENTRYPOINT')).toEqual([`["/usr/bin/node", "/app/${pkg.bin.imagegate}"]`]);
    expect(ops(runtime, 'CMD')).toEqual(['["serve"]']);
    expect(ops(runtime, 'EXPOSE')).toEqual(['8443']);
  });

  it('labels the image with OCI annotations including the base name and digest', () => {
    const labels = ops(runtime, 'LABEL').join(' ');
    for (const key of ['title', 'source', 'version', 'revision', 'licenses', 'base.name', 'base.digest']) {
      expect(labels).toContain(`org.opencontainers.image.${key}=`);
    }
    expect(labels).toContain('org.opencontainers.image.base.name="${BASE_IMAGE}"');
    expect(labels).toContain('org.opencontainers.image.base.digest="${BASE_DIGEST}"');
  });

  it('keeps secrets, dependencies and tests out of the build context', () => {
    const ignored = readFileSync('.dockerignore', 'utf8').split('\n');
    for (const entry of ['.git', 'node_modules', 'dist', '.tools', 'test', '.env*'])
      expect(ignored).toContain(entry);
  });
});
