/**
 * A small, deterministic tar writer and a reader for the tar streams we consume (dpkg-deb's data
 * tar, npm tarballs). The writer emits POSIX ustar headers (PAX records only for long names), a fixed
 * mtime, no user or group names and entries in the order given (callers sort them). The reader
 * understands ustar, GNU long names (`L`/`K`) and PAX records (`x`; `g` is ignored).
 */

export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink';

export interface TarEntry {
  /** Relative path without a leading `./` or `/`; directories without a trailing slash. */
  path: string;
  type: EntryType;
  /** Permission bits, including setuid/sticky (e.g. 0o1777). */
  mode: number;
  uid: number;
  gid: number;
  /** File contents (type file). */
  data?: Uint8Array;
  /** Target of a symlink, or the path (as in `path`) a hardlink points at. */
  linkname?: string;
}

const BLOCK = 512;
const TYPEFLAG: Record<EntryType, string> = { file: '0', hardlink: '1', symlink: '2', dir: '5' };
const FROM_TYPEFLAG: Record<string, EntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '5': 'dir',
};
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(fields: {
  name: string;
  prefix: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
}): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const put = (offset: number, text: string): void => {
    h.set(encoder.encode(text), offset);
  };
  put(0, fields.name);
  put(100, octal(fields.mode, 8));
  put(108, octal(fields.uid, 8));
  put(116, octal(fields.gid, 8));
  put(124, octal(fields.size, 12));
  put(136, octal(fields.mtime, 12));
  put(148, '        ');
  put(156, fields.typeflag);
  put(157, fields.linkname);
  put(257, 'ustar\0');
  put(263, '00');
  put(329, octal(0, 8));
  put(337, octal(0, 8));
  put(345, fields.prefix);
  let sum = 0;
  for (const b of h) sum += b;
  put(148, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

/** Splits a path into ustar name/prefix, or undefined when it needs a PAX record. */
function splitUstar(path: string): { name: string; prefix: string } | undefined {
  const bytes = encoder.encode(path).length;
  if (bytes <= 100) return { name: path, prefix: '' };
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (encoder.encode(prefix).length <= 155 && encoder.encode(name).length <= 100 && name !== '')
      return { name, prefix };
  }
  return undefined;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyBytes = encoder.encode(body).length;
  let len = bodyBytes + 1;
  while (len !== bodyBytes + String(len).length) len = bodyBytes + String(len).length;
  return `${len}${body}`;
}

function padding(size: number): Uint8Array {
  return new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The tar archive of `entries` in the given order, every mtime set to `mtime` (seconds). */
export function writeTar(entries: readonly TarEntry[], mtime = 0): Buffer {
  const chunks: Uint8Array[] = [];
  for (const e of entries) {
    const path = e.type === 'dir' ? `${e.path}/` : e.path;
    const linkname = e.linkname ?? '';
    const data = e.type === 'file' ? (e.data ?? new Uint8Array()) : new Uint8Array();
    let split = splitUstar(path);
    let pax = '';
    if (split === undefined) {
      pax += paxRecord('path', path);
      split = { name: path.slice(0, 99), prefix: '' };
    }
    if (encoder.encode(linkname).length > 100) pax += paxRecord('linkpath', linkname);
    const common = { mode: e.mode, uid: e.uid, gid: e.gid, mtime };
    if (pax !== '') {
      const body = encoder.encode(pax);
      chunks.push(
        header({ ...common, name: 'PaxHeader', prefix: '', size: body.length, typeflag: 'x', linkname: '' }),
      );
      chunks.push(body, padding(body.length));
    }
    chunks.push(
      header({
        ...common,
        ...split,
        size: data.length,
        typeflag: TYPEFLAG[e.type],
        linkname: linkname.slice(0, 100),
      }),
    );
    chunks.push(data, padding(data.length));
  }
  chunks.push(new Uint8Array(BLOCK * 2));
  return Buffer.concat(chunks);
}

function readString(block: Uint8Array, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return decoder.decode(end >= 0 ? field.subarray(0, end) : field);
}

function readOctal(block: Uint8Array, offset: number, length: number): number {
  if ((block[offset]! & 0x80) !== 0) {
    let value = 0;
    for (let i = offset + 1; i < offset + length; i++) value = value * 256 + block[i]!;
    return value;
  }
  const text = readString(block, offset, length).trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function parsePax(body: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < body.length) {
    const space = body.indexOf(0x20, i);
    if (space < 0) break;
    const len = parseInt(decoder.decode(body.subarray(i, space)), 10);
    if (!Number.isFinite(len) || len <= 0) break;
    const record = decoder.decode(body.subarray(space + 1, i + len - 1));
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    i += len;
  }
  return out;
}

/** Strips `./` and `/` prefixes and a trailing slash; '' for the archive root. */
export function normalizePath(path: string): string {
  return path
    .replace(/^(\.\/|\/)+/, '')
    .replace(/^\.$/, '')
    .replace(/\/+$/, '');
}

/** Entries of a tar archive (root entry and unsupported types such as devices are skipped). */
export function readTar(archive: Uint8Array): TarEntry[] {
  const out: TarEntry[] = [];
  let offset = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax: Record<string, string> = {};
  while (offset + BLOCK <= archive.length) {
    const block = archive.subarray(offset, offset + BLOCK);
    if (block.every((b) => b === 0)) break;
    const size = readOctal(block, 124, 12);
    const typeflag = String.fromCharCode(block[156]!);
    const body = archive.subarray(offset + BLOCK, offset + BLOCK + size);
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (typeflag === 'L') longName = readString(body, 0, body.length);
    else if (typeflag === 'K') longLink = readString(body, 0, body.length);
    else if (typeflag === 'x') pax = parsePax(body);
    else if (typeflag !== 'g') {
      const prefix = readString(block, 345, 155);
      const name = readString(block, 0, 100);
      const rawPath = pax.path ?? longName ?? (prefix !== '' ? `${prefix}/${name}` : name);
      const linkname = pax.linkpath ?? longLink ?? readString(block, 157, 100);
      longName = longLink = undefined;
      pax = {};
      const type = FROM_TYPEFLAG[typeflag];
      const path = normalizePath(rawPath);
      if (type === undefined || path === '') continue;
      const entry: TarEntry = {
        path,
        type,
        mode: readOctal(block, 100, 8) & 0o7777,
        uid: readOctal(block, 108, 8),
        gid: readOctal(block, 116, 8),
      };
      if (type === 'file') entry.data = body;
      if (type === 'symlink') entry.linkname = linkname;
      if (type === 'hardlink') entry.linkname = normalizePath(linkname);
      out.push(entry);
    }
  }
  return out;
}
