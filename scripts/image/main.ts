/**
 * `npm run image [-- --name HOST/REPO[:TAG]] [--push HOST/REPO[:TAG]] [--insecure]`: builds the
 * layouts and the SBOM (see build.ts), prints the layer table, and pushes when asked.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { formatBytes } from '../../src/checks/quantity.js';
import { describeLayer } from '../../src/checks/size.js';
import { buildImage, type BuildResult } from './build.js';
import { LIMITS } from './definition.js';
import { pushBuild, isLoopbackRegistry } from './push.js';

const USAGE = `npm run image -- [--name HOST/REPO[:TAG]] [--push HOST/REPO[:TAG]] [--insecure] [--out DIR]
  --name      the name the image will be pushed as (default ghcr.io/imagegate/imagegate:<version>);
              its base is named HOST/REPO-base:TAG in the image's annotations
  --push      build as this name, then push the base and the image there with skopeo
  --insecure  push over plain HTTP (implied for localhost and 127.0.0.1)
  --out       output directory (default build/)`;

/** Every layer, in the words `imagegate check` uses for the heaviest ones; base layers marked. */
export function layerTable(result: BuildResult): string {
  const { image } = result.image;
  const baseCount = result.base.image.layers.length;
  const lines = image.layers.map(
    (l, i) =>
      `  ${describeLayer({ index: i + 1, bytes: l.size, createdBy: l.createdBy }, false)}${i < baseCount ? ' [base]' : ''}`,
  );
  return [
    ...lines,
    `  total: ${formatBytes(result.compressedBytes)} compressed in ${image.layers.length} layers ` +
      `(limits: ${formatBytes(LIMITS.maxCompressedBytes)}, ${LIMITS.maxLayers} layers)`,
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string' },
      push: { type: 'string' },
      insecure: { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.name !== undefined && values.push !== undefined && values.name !== values.push) {
    process.stderr.write('--name and --push name the same thing: give one of them\n');
    return 2;
  }
  const started = Date.now();
  const repoRoot = resolve(import.meta.dirname, '..', '..');
  const name = values.push ?? values.name;
  const result = await buildImage({
    repoRoot,
    ...(values.out !== undefined ? { outDir: resolve(values.out) } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(process.env.SOURCE_DATE_EPOCH !== undefined ? { epoch: Number(process.env.SOURCE_DATE_EPOCH) } : {}),
    log: (line) => process.stderr.write(`image: ${line}\n`),
  });
  process.stdout.write(
    `${layerTable(result)}\n` +
      `base  ${result.base.name}:${result.base.tag}@${result.base.digest}  oci:${result.base.dir}:${result.base.tag}\n` +
      `image ${result.image.name}:${result.image.tag}@${result.image.digest}  oci:${result.image.dir}:${result.image.tag}\n` +
      `sbom  ${result.sbomPath} (${result.debs.length} Debian packages, node, ${result.npm.length} npm packages)\n` +
      `built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
  if (values.push !== undefined) {
    await pushBuild(result, values.insecure || isLoopbackRegistry(result.image.name));
    process.stdout.write(
      `pushed ${result.base.name}:${result.base.tag} and ${result.image.name}:${result.image.tag}\n`,
    );
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`image: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
