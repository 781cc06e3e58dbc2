/**
 * The application's layers: production node_modules installed from package-lock.json
 * (`npm ci --omit=dev --ignore-scripts` in a staging directory, redone only when the lock or
 * package.json change), and dist/ compiled with tsconfig.build.json (incrementally, no source maps).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, lstat, mkdir, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { APP, USERS, WRITABLE_DIRS } from './definition.js';
import { run } from './exec.js';
import { anyGlob } from './glob.js';
import type { TarEntry } from './tar.js';

/** Files and directories under `root`, as entries at `prefix/…`, owned by root. */
export async function treeEntries(
  root: string,
  prefix: string,
  skip: (rel: string) => boolean = () => false,
): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const abs = join(dir, name);
      const rel = relative(root, abs);
      if (skip(rel)) continue;
      const st = await lstat(abs);
      const path = `${prefix}/${rel}`;
      if (st.isDirectory()) {
        out.push({ path, type: 'dir', mode: 0o755, uid: 0, gid: 0 });
        await walk(abs);
      } else if (st.isSymbolicLink()) {
        out.push({ path, type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkname: await readlink(abs) });
      } else if (st.isFile()) {
        const mode = (st.mode & 0o111) !== 0 ? 0o755 : 0o644;
        out.push({ path, type: 'file', mode, uid: 0, gid: 0, data: await readFile(abs) });
      }
    }
  };
  await walk(root);
  return out;
}

/** Installs production dependencies into `<stage>/deps/node_modules`; returns that directory. */
export async function installProductionDeps(repoRoot: string, stage: string): Promise<string> {
  const deps = join(stage, 'deps');
  const inputs = await Promise.all(
    ['package.json', 'package-lock.json'].map((f) => readFile(join(repoRoot, f))),
  );
  const key = createHash('sha256').update(inputs[0]!).update(inputs[1]!).digest('hex');
  const marker = join(deps, '.installed-from');
  if (existsSync(marker) && (await readFile(marker, 'utf8')) === key) return join(deps, 'node_modules');
  await rm(deps, { recursive: true, force: true });
  await mkdir(deps, { recursive: true });
  for (const f of ['package.json', 'package-lock.json']) await copyFile(join(repoRoot, f), join(deps, f));
  await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: deps,
    env: { ...process.env, NODE_ENV: 'production' },
  });
  await writeFile(marker, key);
  return join(deps, 'node_modules');
}

/** Compiles src/ into `<stage>/dist` (incremental); removes output whose source is gone. */
export async function compileDist(repoRoot: string, stage: string): Promise<string> {
  const out = join(stage, 'dist');
  const compiled = join(out, 'src');
  // tsc takes many seconds even with nothing to do: skip it when no input changed
  const hash = createHash('sha256');
  for (const f of ['tsconfig.json', 'tsconfig.build.json', 'package-lock.json'])
    hash.update(f).update(await readFile(join(repoRoot, f)));
  for (const e of await treeEntries(join(repoRoot, 'src'), 'src')) hash.update(e.path).update(e.data ?? '');
  const key = hash.digest('hex');
  const marker = join(stage, 'dist-from');
  if (existsSync(compiled) && existsSync(marker) && (await readFile(marker, 'utf8')) === key) return compiled;
  const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  await run(process.execPath, [
    tsc,
    '-p',
    join(repoRoot, 'tsconfig.build.json'),
    '--outDir',
    out,
    '--sourceMap',
    'false',
    '--incremental',
    '--tsBuildInfoFile',
    join(stage, 'tsbuildinfo'),
  ]);
  for (const e of await treeEntries(compiled, '')) {
    const rel = e.path.slice(1);
    if (e.type === 'file' && !existsSync(join(repoRoot, 'src', rel.replace(/\.js$/, '.ts'))))
      await rm(join(compiled, rel));
  }
  await writeFile(marker, key);
  return compiled;
}

export interface AppLayers {
  dependencies: TarEntry[];
  application: TarEntry[];
  nodeModules: string;
}

export async function appLayers(repoRoot: string, stage: string): Promise<AppLayers> {
  const [nodeModules, dist] = [
    await installProductionDeps(repoRoot, stage),
    await compileDist(repoRoot, stage),
  ];
  const prune = anyGlob(APP.pruneNodeModules);
  const dependencies = await treeEntries(nodeModules, `${APP.dir}/node_modules`, (rel) => prune(rel));
  const application: TarEntry[] = [
    ...(await treeEntries(dist, `${APP.dir}/${APP.dist}`)),
    ...(await Promise.all(
      APP.files.map(async (f) => ({
        path: `${APP.dir}/${f}`,
        type: 'file' as const,
        mode: 0o644,
        uid: 0,
        gid: 0,
        data: await readFile(join(repoRoot, f)),
      })),
    )),
    ...WRITABLE_DIRS.filter((d) => d !== 'tmp').map((d) => ({
      path: d,
      type: 'dir' as const,
      mode: 0o755,
      uid: USERS.uid,
      gid: USERS.gid,
    })),
  ];
  return { dependencies, application, nodeModules };
}
