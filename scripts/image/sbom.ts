/**
 * The image's SPDX 2.3 SBOM: the image (by digest) as the described element, and everything in it —
 * each Debian package, Node, imagegate, and every npm package installed from package-lock.json.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEBIAN, NODE } from './definition.js';
import type { DebInfo } from './deb.js';
import { npmLicense, type DebianLicense } from './licenses.js';
import { isoDate } from './oci.js';

export interface NpmPackage {
  /** Path in the lock file, e.g. node_modules/@sigstore/core. */
  path: string;
  name: string;
  version: string;
  integrity?: string;
  resolved?: string;
  /** The declared license (package metadata), an SPDX expression or NOASSERTION. */
  license: string;
}

interface LockEntry {
  name?: string;
  version?: string;
  integrity?: string;
  resolved?: string;
  link?: boolean;
  license?: unknown;
}

/**
 * The npm packages npm ci installed (its hidden lock file, node_modules/.package-lock.json), each
 * checked against package-lock.json and against the package.json on disk.
 */
export async function installedNpmPackages(repoRoot: string, nodeModules: string): Promise<NpmPackage[]> {
  const read = async (f: string) =>
    JSON.parse(await readFile(f, 'utf8')) as { packages: Record<string, LockEntry> };
  const lock = (await read(join(repoRoot, 'package-lock.json'))).packages;
  const installed = (await read(join(nodeModules, '.package-lock.json'))).packages;
  const out: NpmPackage[] = [];
  for (const path of Object.keys(installed).sort()) {
    const entry = lock[path];
    if (entry === undefined || entry.version === undefined || entry.link === true)
      throw new Error(`${path} is installed but not a package in package-lock.json`);
    const onDisk = JSON.parse(
      await readFile(join(nodeModules, '..', path, 'package.json'), 'utf8'),
    ) as LockEntry;
    const name = entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    if (onDisk.version !== entry.version || onDisk.name !== name)
      throw new Error(
        `${path}: installed ${onDisk.name}@${onDisk.version}, package-lock.json says ${name}@${entry.version}`,
      );
    out.push({
      path,
      name,
      version: entry.version,
      license: npmLicense(entry.license ?? onDisk.license),
      ...(entry.integrity !== undefined ? { integrity: entry.integrity } : {}),
      ...(entry.resolved !== undefined ? { resolved: entry.resolved } : {}),
    });
  }
  return out;
}

export const npmPurl = (name: string, version: string): string =>
  `pkg:npm/${name.replace(/^@/, '%40')}@${encodeURIComponent(version)}`;
export const debPurl = (d: Pick<DebInfo, 'name' | 'version' | 'architecture'>): string =>
  `pkg:deb/debian/${d.name}@${encodeURIComponent(d.version)}?arch=${d.architecture}&distro=debian-${DEBIAN.version}`;

/** npm integrity (`sha512-BASE64`) → SPDX checksum. */
function checksum(integrity: string | undefined): Array<{ algorithm: string; checksumValue: string }> {
  const m = /^(sha512|sha384|sha256|sha1)-(.+)$/.exec(integrity?.split(' ')[0] ?? '');
  if (m === null) return [];
  return [{ algorithm: m[1]!.toUpperCase(), checksumValue: Buffer.from(m[2]!, 'base64').toString('hex') }];
}

export interface SbomInput {
  image: { name: string; tag: string; digest: string };
  app: { name: string; version: string; license: string };
  debs: DebInfo[];
  /** Each Debian package's license from its copyright file (licenses.ts), by package name. */
  debLicenses: ReadonlyMap<string, DebianLicense>;
  npm: NpmPackage[];
  /** The document's creation time (seconds): the commit's, or SOURCE_DATE_EPOCH. */
  created: number;
}

/** Node.js as scanners know it: NVD's CPE and a generic purl (the npm one names a packaging). */
export const nodeCpe = (version: string): string => `cpe:2.3:a:nodejs:node.js:${version}:*:*:*:*:*:*:*`;
export const nodePurl = (version: string): string =>
  `pkg:generic/node@${version}?download_url=https://nodejs.org/dist/v${version}/node-v${version}-linux-x64.tar.xz`;

export function toSpdx(input: SbomInput): unknown {
  const ids = new Set<string>();
  const spdxId = (hint: string): string => {
    const base = `SPDXRef-${hint.replace(/[^A-Za-z0-9.-]+/g, '-')}`;
    let id = base;
    for (let i = 2; ids.has(id); i++) id = `${base}-${i}`;
    ids.add(id);
    return id;
  };
  const pkg = (
    hint: string,
    fields: {
      name: string;
      versionInfo: string;
      purl: string;
      license: string;
      downloadLocation?: string;
      supplier?: string;
      moreRefs?: Array<{ referenceCategory: string; referenceType: string; referenceLocator: string }>;
    },
    checksums: Array<{ algorithm: string; checksumValue: string }> = [],
  ) => ({
    SPDXID: spdxId(hint),
    name: fields.name,
    versionInfo: fields.versionInfo,
    ...(fields.supplier !== undefined ? { supplier: fields.supplier } : {}),
    downloadLocation: fields.downloadLocation ?? 'NOASSERTION',
    filesAnalyzed: false,
    ...(checksums.length > 0 ? { checksums } : {}),
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: fields.license,
    copyrightText: 'NOASSERTION',
    externalRefs: [
      { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: fields.purl },
      ...(fields.moreRefs ?? []),
    ],
  });
  const { image } = input;
  const hex = image.digest.slice('sha256:'.length);
  const root = {
    ...pkg('Image', {
      name: image.name,
      versionInfo: image.digest,
      license: 'NOASSERTION',
      purl: `pkg:oci/${image.name.slice(image.name.lastIndexOf('/') + 1)}@sha256%3A${hex}?arch=amd64&repository_url=${image.name}&tag=${image.tag}`,
    }),
    checksums: [{ algorithm: 'SHA256', checksumValue: hex }],
    primaryPackagePurpose: 'CONTAINER',
  };
  const contents = [
    ...input.debs.map((d) =>
      pkg(
        `deb-${d.name}`,
        {
          name: d.name,
          versionInfo: d.version,
          purl: debPurl(d),
          license: input.debLicenses.get(d.name)?.expression ?? 'NOASSERTION',
          supplier: 'Organization: Debian',
        },
        [{ algorithm: 'SHA256', checksumValue: d.sha256 }],
      ),
    ),
    pkg(
      'node',
      {
        name: 'node',
        versionInfo: NODE.version,
        purl: nodePurl(NODE.version),
        license: 'MIT',
        moreRefs: [
          {
            referenceCategory: 'SECURITY',
            referenceType: 'cpe23Type',
            referenceLocator: nodeCpe(NODE.version),
          },
          {
            referenceCategory: 'PACKAGE-MANAGER',
            referenceType: 'purl',
            referenceLocator: npmPurl(NODE.npmPackage, NODE.version),
          },
        ],
        downloadLocation: `https://registry.npmjs.org/${NODE.npmPackage}/-/${NODE.npmPackage}-${NODE.version}.tgz`,
        supplier: 'Organization: OpenJS Foundation',
      },
      checksum(NODE.integrity),
    ),
    pkg('app', {
      name: input.app.name,
      versionInfo: input.app.version,
      purl: npmPurl(input.app.name, input.app.version),
      license: input.app.license,
    }),
    ...input.npm.map((p) =>
      pkg(
        `npm-${p.name}-${p.version}`,
        {
          name: p.name,
          versionInfo: p.version,
          purl: npmPurl(p.name, p.version),
          license: p.license,
          ...(p.resolved !== undefined ? { downloadLocation: p.resolved } : {}),
        },
        checksum(p.integrity),
      ),
    ),
  ];
  const extracted = [
    ...new Map(
      [...input.debLicenses.values()].flatMap((l) => l.extracted).map((e) => [e.licenseId, e] as const),
    ).values(),
  ].sort((a, b) => a.licenseId.localeCompare(b.licenseId));
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${image.name}@${image.digest}`,
    documentNamespace: `https://imagegate.dev/spdx/${image.name}/${hex}`,
    creationInfo: { created: isoDate(input.created), creators: ['Tool: imagegate-scripts-image'] },
    documentDescribes: [root.SPDXID],
    ...(extracted.length > 0 ? { hasExtractedLicensingInfos: extracted } : {}),
    packages: [root, ...contents],
    relationships: [
      { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: root.SPDXID },
      ...contents.map((c) => ({
        spdxElementId: root.SPDXID,
        relationshipType: 'CONTAINS',
        relatedSpdxElement: c.SPDXID,
      })),
    ],
  };
}
