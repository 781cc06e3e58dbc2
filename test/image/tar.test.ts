/** The image build's tar writer, read back by GNU tar (an independent reader, so this lives in the image project) and by our reader. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { normalizeEntries } from '../../scripts/image/layer.js';
import { readTar, writeTar, type TarEntry } from '../../scripts/image/tar.js';

const long = `usr/lib/${'deep/'.repeat(30)}file-with-a-long-name.txt`;
const entries: TarEntry[] = normalizeEntries([
  { path: 'tmp', type: 'dir', mode: 0o1777, uid: 0, gid: 0 },
  { path: 'home/nonroot', type: 'dir', mode: 0o700, uid: 65532, gid: 65532 },
  { path: 'usr/bin/node', type: 'file', mode: 0o755, uid: 0, gid: 0, data: Buffer.from('#!binary\n') },
  { path: long, type: 'file', mode: 0o644, uid: 0, gid: 0, data: Buffer.from('x'.repeat(1000)) },
  { path: 'lib64/ld-linux-x86-64.so.2', type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkname: `/${long}` },
  { path: 'usr/bin/nodejs', type: 'hardlink', mode: 0o755, uid: 0, gid: 0, linkname: 'usr/bin/node' },
]);

describe('writeTar', () => {
  const archive = writeTar(entries, 0);

  it('is read back by GNU tar with modes, owners, long names and links intact', () => {
    const r = spawnSync('tar', ['--numeric-owner', '-tvf', '-'], { input: archive, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(entries.length);
    expect(lines.find((l) => l.endsWith(' tmp/'))).toMatch(/^drwxrwxrwt 0\/0 /);
    expect(lines.find((l) => l.endsWith(' home/nonroot/'))).toMatch(/^drwx------ 65532\/65532 /);
    expect(lines.find((l) => l.includes(long) && l.startsWith('-'))).toMatch(
      /^-rw-r--r-- 0\/0 +1000 1970-01-01 00:00 /,
    );
    expect(lines.find((l) => l.includes('lib64/ld-linux'))).toContain(`-> /${long}`);
    expect(lines.find((l) => l.includes('usr/bin/nodejs'))).toContain('link to usr/bin/node');
  });

  it('round-trips through readTar', () => {
    expect(readTar(archive)).toEqual(
      entries.map((e) => (e.type === 'file' ? { ...e, data: Buffer.from(e.data!) } : e)),
    );
  });

  it('is byte-for-byte the same for the same entries, and sorted with parents first', () => {
    expect(writeTar(normalizeEntries([...entries].reverse()), 0).equals(archive)).toBe(true);
    const paths = entries.map((e) => e.path);
    expect(paths.indexOf('usr')).toBeLessThan(paths.indexOf('usr/bin'));
    expect(paths.indexOf('usr/bin')).toBeLessThan(paths.indexOf('usr/bin/node'));
  });

  it('refuses a path listed twice', () => {
    const twice = [entries[0]!, { ...entries[0]! }];
    expect(() => normalizeEntries(twice)).toThrow(`lists ${entries[0]!.path} twice`);
  });
});
