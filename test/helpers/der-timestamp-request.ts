/**
 * Reads an RFC 3161 TimeStampReq (what cosign's TSA client posts) far enough for the loopback TSA:
 *   TimeStampReq ::= SEQUENCE { version INTEGER, messageImprint SEQUENCE { hashAlgorithm
 *     AlgorithmIdentifier, hashedMessage OCTET STRING }, reqPolicy OID OPTIONAL, nonce INTEGER
 *     OPTIONAL, certReq BOOLEAN DEFAULT FALSE, extensions [0] OPTIONAL }
 */
interface Tlv {
  tag: number;
  value: Buffer;
  end: number;
}

function tlv(buf: Buffer, at: number): Tlv {
  const tag = buf[at];
  let len = buf[at + 1];
  if (tag === undefined || len === undefined) throw new Error('timestamp request: truncated');
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error('timestamp request: bad length');
    len = 0;
    for (let i = 0; i < n; i += 1) len = len * 256 + (buf[start + i] ?? 0);
    start += n;
  }
  if (start + len > buf.byteLength) throw new Error('timestamp request: truncated');
  return { tag, value: buf.subarray(start, start + len), end: start + len };
}

function children(buf: Buffer): Tlv[] {
  const out: Tlv[] = [];
  for (let at = 0; at < buf.byteLength;) {
    const t = tlv(buf, at);
    out.push(t);
    at = t.end;
  }
  return out;
}

function oid(bytes: Buffer): string {
  const first = bytes[0] ?? 0;
  const parts = [Math.floor(first / 40), first % 40];
  let v = 0;
  for (const b of bytes.subarray(1)) {
    v = v * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

export interface TimestampRequest {
  hashAlgorithm: string;
  hash: Buffer;
  /** The nonce's INTEGER content octets, as sent. */
  nonce?: Buffer;
  certReq: boolean;
}

export function readTimestampRequest(der: Buffer): TimestampRequest {
  const top = tlv(der, 0);
  if (top.tag !== 0x30) throw new Error('timestamp request: not a SEQUENCE');
  const [, imprint, ...rest] = children(top.value);
  if (imprint?.tag !== 0x30) throw new Error('timestamp request: no messageImprint');
  const [algorithm, hashed] = children(imprint.value);
  const algOid = algorithm === undefined ? undefined : children(algorithm.value)[0];
  if (algOid?.tag !== 0x06 || hashed?.tag !== 0x04) throw new Error('timestamp request: bad messageImprint');
  return {
    hashAlgorithm: oid(algOid.value),
    hash: Buffer.from(hashed.value),
    ...(rest.find((t) => t.tag === 0x02)
      ? { nonce: Buffer.from(rest.find((t) => t.tag === 0x02)!.value) }
      : {}),
    certReq: rest.some((t) => t.tag === 0x01 && t.value[0] !== 0),
  };
}
