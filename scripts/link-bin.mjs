// npm's `prepare` step: npm never links a project's own `bin` into its node_modules/.bin, so after
// `npm ci` in a clone `npx imagegate` would find nothing. Link it there (relative, idempotent).
import { lstat, mkdir, readlink, symlink, unlink } from 'node:fs/promises';
import { join } from 'node:path';

const binDir = join(import.meta.dirname, '..', 'node_modules', '.bin');
const link = join(binDir, 'imagegate');
const target = join('..', '..', 'bin', 'imagegate.js');

await mkdir(binDir, { recursive: true });
const existing = await lstat(link).catch(() => undefined);
if (existing?.isSymbolicLink() && (await readlink(link)) === target) process.exit(0);
if (existing) await unlink(link);
await symlink(target, link);
