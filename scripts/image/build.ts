/**
 * Builds build/image-base (the Debian base), build/image (base + Node + imagegate) and
 * build/image.spdx.json from the definition, reproducibly: the same inputs give the same digests.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { appLayers } from './app.js';
import { packageLayers, systemEntries } from './base.js';
import { DEFAULT_REPOSITORY, EPOCH, GZIP_LEVEL, LABELS, LIMITS, NODE, RUNTIME, USERS } from './definition.js';
import { candidates, debEntries, fetchDeb, type DebInfo } from './deb.js';
import { run } from './exec.js';
import { debianLicense, npmLicense, type DebianLicense } from './licenses.js';
import { toLayer, type Layer, type LayerOptions } from './layer.js';
import { nodeEntries } from './node-binary.js';
import { toImage, writeLayout, isoDate, type BuiltImage } from './oci.js';
import { installedNpmPackages, toSpdx, type NpmPackage } from './sbom.js';

export interface BuildOptions {
  repoRoot: string;
  /** Where image-base/, image/ and image.spdx.json go (default REPO/build). */
  outDir?: string;
  /** Downloads, staging and compressed layers (default REPO/build/cache). */
  cacheDir?: string;
  /** HOST/REPO[:TAG] the image will be pushed as (its base goes to HOST/REPO-base:TAG). */
  name?: string;
  /** Timestamp of every file and of the config, in seconds (default EPOCH; main passes SOURCE_DATE_EPOCH). */
  epoch?: number;
  /** false: compress every layer again (the reproducibility proof). */
  reuseCompressedLayers?: boolean;
  log?: (line: string) => void;
}

export interface BuiltLayout {
  /** HOST/REPO */
  name: string;
  tag: string;
  digest: string;
  dir: string;
  image: BuiltImage;
}

export interface BuildResult {
  base: BuiltLayout;
  image: BuiltLayout;
  sbomPath: string;
  debs: DebInfo[];
  npm: NpmPackage[];
  compressedBytes: number;
}

/** `HOST/REPO[:TAG]` → name and tag (default: package.json's version). */
export function parseName(input: string, defaultTag: string): { name: string; tag: string } {
  if (input.includes('@')) throw new Error(`--name ${input}: give HOST/REPO[:TAG], not a digest`);
  const colon = input.lastIndexOf(':');
  const hasTag = colon > input.lastIndexOf('/');
  const name = hasTag ? input.slice(0, colon) : input;
  const tag = hasTag ? input.slice(colon + 1) : defaultTag;
  if (
    !/^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-]+[a-z0-9]+)*)+$/.test(name) ||
    !/^\w[\w.-]{0,127}$/.test(tag)
  )
    throw new Error(`"${input}" is not HOST/REPO[:TAG]`);
  return { name, tag };
}

/** The commit's time (seconds), the SBOM's creation time without SOURCE_DATE_EPOCH; undefined outside git. */
async function commitTime(repoRoot: string): Promise<number | undefined> {
  try {
    const t = Number((await run('git', ['log', '-1', '--format=%ct'], { cwd: repoRoot })).toString().trim());
    return Number.isSafeInteger(t) && t > 0 ? t : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Each package's copyright file. A doc directory that is a symlink to another package's (libgcc-s1 →
 * gcc-12-base) is read from that package's .deb, fetched into the cache for its copyright file only.
 */
async function debLicenses(debs: readonly DebInfo[], cacheDir: string): Promise<Map<string, DebianLicense>> {
  const texts = new Map<string, string>();
  const links = new Map<string, string>();
  const read = async (deb: DebInfo): Promise<void> => {
    for (const e of await debEntries(deb)) {
      const m = /^usr\/share\/doc\/([^/]+)(\/copyright)?$/.exec(e.path);
      if (m === null) continue;
      if (m[2] !== undefined && e.type === 'file' && e.data !== undefined)
        texts.set(m[1]!, Buffer.from(e.data).toString('utf8'));
      else if (m[2] === undefined && e.type === 'symlink' && e.linkname !== undefined)
        links.set(m[1]!, e.linkname.replace(/\/$/, ''));
    }
  };
  for (const deb of debs) await read(deb);
  const missing = [...new Set([...links.values()])].filter(
    (t) => !texts.has(t) && /^[a-z0-9][a-z0-9.+-]*$/.test(t),
  );
  if (missing.length > 0)
    for (const info of (await candidates(missing)).values()) await read(await fetchDeb(info, cacheDir));
  return new Map(
    debs.map((d) => [d.name, debianLicense(d.name, texts.get(d.name) ?? texts.get(links.get(d.name) ?? ''))]),
  );
}

async function gitRevision(repoRoot: string): Promise<string> {
  try {
    return (await run('git', ['rev-parse', 'HEAD'], { cwd: repoRoot })).toString().trim();
  } catch {
    return 'unknown';
  }
}

export async function buildImage(options: BuildOptions): Promise<BuildResult> {
  const { repoRoot } = options;
  const log = options.log ?? (() => undefined);
  const outDir = options.outDir ?? join(repoRoot, 'build');
  const cacheDir = options.cacheDir ?? join(repoRoot, 'build', 'cache');
  const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    license?: string;
  };
  const { name, tag } = parseName(options.name ?? DEFAULT_REPOSITORY, pkg.version);
  const baseName = `${name}-base`;
  const created = options.epoch ?? EPOCH;
  if (!Number.isSafeInteger(created) || created < 0) throw new Error(`epoch ${created} is not whole seconds`);
  const layerOptions: LayerOptions = {
    mtime: created,
    level: GZIP_LEVEL,
    cacheDir: options.reuseCompressedLayers === false ? undefined : join(cacheDir, 'layers'),
  };

  log('base: Debian packages');
  const packages = await packageLayers(cacheDir);
  // zlib compresses on the libuv thread pool: layers built side by side use every core
  const baseLayers: Layer[] = await Promise.all([
    ...packages.map((p) =>
      toLayer(p.entries, `debian ${p.deb.name} ${p.deb.version} (apt-get download)`, layerOptions),
    ),
    toLayer(
      await systemEntries(packages),
      'system files: /etc/passwd and /etc/group (nonroot 65532), CA bundle, /tmp 1777, dpkg status',
      layerOptions,
    ),
  ]);
  const baseImage = toImage(
    baseLayers,
    {
      User: `${USERS.uid}:${USERS.gid}`,
      Env: RUNTIME.env.filter(
        (e) => !e.startsWith('NODE_ENV=') && !e.startsWith('IMAGEGATE_') && !e.startsWith('MALLOC_'),
      ),
      Labels: { 'org.opencontainers.image.title': 'imagegate-base', 'org.opencontainers.image.version': tag },
    },
    created,
    {
      'org.opencontainers.image.title': 'imagegate-base',
      'org.opencontainers.image.created': isoDate(created),
    },
  );
  const baseDir = join(outDir, 'image-base');
  await writeLayout(baseDir, baseImage, tag);

  log(`node ${NODE.version} and the application`);
  const app = await appLayers(repoRoot, join(cacheDir, 'app'));
  const npm = await installedNpmPackages(repoRoot, app.nodeModules);
  const ownLayers = await Promise.all([
    toLayer(
      await nodeEntries(cacheDir),
      `node ${NODE.version} (npm ${NODE.npmPackage}, bin/node)`,
      layerOptions,
    ),
    toLayer(app.dependencies, 'npm ci --omit=dev --ignore-scripts (production node_modules)', layerOptions),
    toLayer(app.application, `${pkg.name} ${pkg.version}: dist/src, package.json`, layerOptions),
  ]);
  const baseRef = `${baseName}:${tag}`;
  const revision = await gitRevision(repoRoot);
  const about = {
    'org.opencontainers.image.version': pkg.version,
    'org.opencontainers.image.revision': revision,
    'org.opencontainers.image.created': isoDate(created),
    'org.opencontainers.image.base.name': baseRef,
    'org.opencontainers.image.base.digest': baseImage.manifest.digest,
  };
  const image = toImage(
    [...baseLayers, ...ownLayers],
    {
      User: `${USERS.uid}:${USERS.gid}`,
      Env: [...RUNTIME.env],
      Entrypoint: [...RUNTIME.entrypoint],
      Cmd: [...RUNTIME.cmd],
      WorkingDir: RUNTIME.workingDir,
      ExposedPorts: Object.fromEntries(RUNTIME.exposedPorts.map((p) => [p, {}])),
      Labels: { ...LABELS, ...about },
    },
    created,
    {
      'org.opencontainers.image.title': LABELS['org.opencontainers.image.title'],
      'org.opencontainers.image.source': LABELS['org.opencontainers.image.source'],
      ...about,
    },
  );
  const imageDir = join(outDir, 'image');
  await writeLayout(imageDir, image, tag);

  const compressedBytes = image.config.size + image.layers.reduce((s, l) => s + l.size, 0);
  if (compressedBytes > LIMITS.maxCompressedBytes || image.layers.length > LIMITS.maxLayers)
    throw new Error(
      `image is ${compressedBytes} bytes in ${image.layers.length} layers; the definition allows ` +
        `${LIMITS.maxCompressedBytes} bytes and ${LIMITS.maxLayers} layers`,
    );

  const debs = packages.map((p) => p.deb);
  const sbomPath = join(outDir, 'image.spdx.json');
  const sbom = toSpdx({
    image: { name, tag, digest: image.manifest.digest },
    app: { name: pkg.name, version: pkg.version, license: npmLicense(pkg.license) },
    debs,
    debLicenses: await debLicenses(debs, cacheDir),
    npm,
    // the image's files keep their fixed time (reproducible layers); the document says when it was made
    created: options.epoch ?? (await commitTime(repoRoot)) ?? created,
  });
  await writeFile(sbomPath, `${JSON.stringify(sbom, null, 2)}\n`);
  return {
    base: { name: baseName, tag, digest: baseImage.manifest.digest, dir: baseDir, image: baseImage },
    image: { name, tag, digest: image.manifest.digest, dir: imageDir, image },
    sbomPath,
    debs,
    npm,
    compressedBytes,
  };
}
