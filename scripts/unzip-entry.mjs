// Extracts one entry from a zip file (stored or deflated) without needing `unzip` on the machine.
// Usage: node scripts/unzip-entry.mjs ARCHIVE.zip ENTRY/PATH OUTPUT
import { readFileSync, writeFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';

const [archive, entry, output] = process.argv.slice(2);
if (!archive || !entry || !output) {
  console.error('usage: unzip-entry.mjs ARCHIVE ENTRY OUTPUT');
  process.exit(2);
}
const zip = readFileSync(archive);
// End of central directory: scan back from the end for its signature.
let eocd = -1;
for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65557); i--) {
  if (zip.readUInt32LE(i) === 0x06054b50) {
    eocd = i;
    break;
  }
}
if (eocd < 0) throw new Error(`${archive}: not a zip file`);
const count = zip.readUInt16LE(eocd + 10);
let p = zip.readUInt32LE(eocd + 16);
for (let n = 0; n < count; n++) {
  if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error('bad central directory');
  const method = zip.readUInt16LE(p + 10);
  const compSize = zip.readUInt32LE(p + 20);
  const nameLen = zip.readUInt16LE(p + 28);
  const extraLen = zip.readUInt16LE(p + 30);
  const commentLen = zip.readUInt16LE(p + 32);
  const localOffset = zip.readUInt32LE(p + 42);
  const name = zip.toString('utf8', p + 46, p + 46 + nameLen);
  if (name === entry) {
    const lNameLen = zip.readUInt16LE(localOffset + 26);
    const lExtraLen = zip.readUInt16LE(localOffset + 28);
    const start = localOffset + 30 + lNameLen + lExtraLen;
    const data = zip.subarray(start, start + compSize);
    const out = method === 0 ? data : method === 8 ? inflateRawSync(data) : null;
    if (out === null) throw new Error(`${entry}: unsupported compression method ${method}`);
    writeFileSync(output, out, { mode: 0o755 });
    process.exit(0);
  }
  p += 46 + nameLen + extraLen + commentLen;
}
console.error(`${entry} not found in ${archive}`);
process.exit(1);
