/**
 * The sigstore-js internal behind src/checks/signature/sigstore-internals.ts, exercised against a
 * real chain: if a release moves `verifyCertificate` the adapter's import fails and this file with it;
 * if it renames or reshapes it, these assertions fail. The memoised encodings are checked against
 * sigstore-js's own re-encoding of a fresh copy, and a memoised chain must still reject a foreign leaf.
 */
import { readFileSync } from 'node:fs';
import { bundleFromJSON } from '@sigstore/bundle';
import { toTrustMaterial } from '@sigstore/verify';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { toVerifiableEntity } from '../../../../src/checks/signature/signed-entity.js';
import {
  memoiseEncoding,
  memoiseLeaf,
  verifyCertificateChainAt,
  withMemoisedCertificates,
  withoutStackTraces,
  type LeafCertificate,
} from '../../../../src/checks/signature/sigstore-internals.js';
import { toTrustedRoot } from '../../../../src/checks/signature/trusted-roots.js';
import { tempDir } from '../../../helpers/signature-setup.js';
import { ACME, createTestInstance, type TestInstance } from '../../../helpers/test-sigstore.js';

const DIGEST = `sha256:${'c'.repeat(64)}`;

function material(instance: TestInstance) {
  return toTrustMaterial(toTrustedRoot(readFileSync(instance.trustedRootPath, 'utf8'), 'test'));
}

describe('sigstore-internals', () => {
  let instance: TestInstance;
  let other: TestInstance;
  let leaf: LeafCertificate;
  let bundleJson: object;

  const freshLeaf = (): LeafCertificate => {
    const entity = toVerifiableEntity(bundleFromJSON(bundleJson), undefined);
    if (entity.key.$case !== 'certificate') throw new Error('the test instance signs with certificates');
    return entity.key.certificate;
  };
  const parse = (der: Buffer): LeafCertificate =>
    (leaf.constructor as unknown as { parse(b: Buffer): LeafCertificate }).parse(der);
  const rootOf = (c: LeafCertificate) => (c as unknown as { root: { toDER(): Buffer } }).root;
  /** The leaf as sigstore-js parses it, not memoised. */
  const plainLeaf = (): LeafCertificate =>
    parse(
      Buffer.from(
        (bundleJson as { verificationMaterial: { certificate: { rawBytes: string } } }).verificationMaterial
          .certificate.rawBytes,
        'base64',
      ),
    );
  /** sigstore-js's own encoding of the leaf, re-encoded from a copy it parsed and not memoised. */
  const reencoded = (): Buffer => rootOf(plainLeaf()).toDER();

  beforeAll(async () => {
    instance = await createTestInstance(tempDir());
    other = await createTestInstance(tempDir());
    bundleJson = await instance.signBundle({
      digest: DIGEST,
      identity: ACME,
      predicateType: 'https://example.test/p',
    });
    leaf = freshLeaf();
  });

  describe('when the leaf chains to the root', () => {
    it('returns the signer identity from the certificate and its verified SCTs', () => {
      const result = verifyCertificateChainAt(leaf, new Date(), material(instance));
      expect(result.signer.identity?.subjectAlternativeName).toBe(ACME.subject);
      expect(result.signer.identity?.extensions?.issuer).toBe(ACME.issuer);
      expect(result.signer.key.asymmetricKeyType).toBe('ec');
      expect(result.sctCount).toBeGreaterThan(0);
    });
  });

  describe('when the leaf comes from another CA', () => {
    it('throws a sigstore VerificationError', () => {
      expect(() => verifyCertificateChainAt(leaf, new Date(), material(other))).toThrow(
        expect.objectContaining({ name: 'VerificationError', code: 'CERTIFICATE_ERROR' }),
      );
    });
  });

  describe('memoiseEncoding', () => {
    it('gives the bytes sigstore-js encodes, computed once', () => {
      const cert = freshLeaf(); // toVerifiableEntity memoises the leaf
      const root = (cert as unknown as { root: { toDER(): Buffer } }).root;
      const first = root.toDER();
      expect(first.equals(reencoded())).toBe(true);
      expect(root.toDER()).toBe(first);
      expect(cert.tbsCertificate.toDER()).toBe(cert.tbsCertificate.toDER());
      expect(memoiseEncoding(cert)).toBe(cert);
    });

    it('gives every node the bytes sigstore-js encodes for it', () => {
      type Node = { subs: Node[]; toDER(): Buffer };
      const memo = (freshLeaf() as unknown as { root: Node }).root;
      const plain = (plainLeaf() as unknown as { root: Node }).root;
      const walk = (a: Node, b: Node): number => {
        expect(a.toDER().equals(b.toDER())).toBe(true);
        return 1 + a.subs.reduce((n, sub, i) => n + walk(sub, b.subs[i]!), 0);
      };
      expect(walk(memo, plain)).toBeGreaterThan(50);
    });

    it('has a certificate that is not minimally encoded refused at parse by sigstore-js', () => {
      // `a0 03 02 01 02` (version 3) spelled with a long-form length: `a0 04 02 81 01 02`
      const der = Buffer.from(reencoded());
      expect([der[0], der[1], der[4], der[5]]).toEqual([0x30, 0x82, 0x30, 0x82]);
      expect([...der.subarray(8, 13)]).toEqual([0xa0, 0x03, 0x02, 0x01, 0x02]);
      const odd = Buffer.concat([
        der.subarray(0, 8),
        Buffer.from([0xa0, 0x04, 0x02, 0x81, 0x01, 0x02]),
        der.subarray(13),
      ]);
      odd.writeUInt16BE(der.readUInt16BE(2) + 1, 2);
      odd.writeUInt16BE(der.readUInt16BE(6) + 1, 6);
      expect(() => parse(odd)).toThrow(/non-minimal length/);
    });

    it("encodes with sigstore-js's toDER a node whose bytes are not where it was parsed from", () => {
      type Node = { subs: Node[]; value: Buffer; toDER(): Buffer };
      const cert = plainLeaf();
      const version = (cert as unknown as { root: Node }).root.subs[0]!.subs[0]!.subs[0]!; // INTEGER 2 (v3)
      const moved = Buffer.alloc(version.value.length); // not pooled: nothing precedes it
      moved[0] = 0x01; // and different: the parsed bytes of its ancestors no longer encode the tree
      version.value = moved;
      const expected = rootOf(cert).toDER(); // sigstore-js's own encoding of that tree
      expect(expected.equals(reencoded())).toBe(false);
      expect(expected.length).toBe(reencoded().length);
      const root = rootOf(memoiseEncoding(cert));
      const first = root.toDER();
      expect(first.equals(expected)).toBe(true);
      expect(root.toDER()).toBe(first); // computed once
    });

    it('encodes again what changed in the copy sigstore-js strips of its SCTs, and nothing in the leaf', () => {
      const cert = freshLeaf();
      const copy = cert.clone(); // memoised too
      const plain = plainLeaf().clone(); // not memoised
      const before = copy.tbsCertificate.toDER();
      expect(before.equals(plain.tbsCertificate.toDER())).toBe(true);
      const sct = copy.extensions.findIndex((e) => e.subs[0]!.toOID() === '1.3.6.1.4.1.11129.2.4.2');
      expect(sct).toBeGreaterThanOrEqual(0);
      copy.extensions.splice(sct, 1);
      plain.extensions.splice(sct, 1);
      const after = copy.tbsCertificate.toDER();
      expect(after.length).toBeLessThan(before.length);
      expect(after.equals(plain.tbsCertificate.toDER())).toBe(true);
      expect(rootOf(copy).toDER().equals(rootOf(plain).toDER())).toBe(true);
      expect(rootOf(cert).toDER().equals(reencoded())).toBe(true);
    });
  });

  describe("a sealed leaf's OIDs", () => {
    it("are sigstore-js's, parsed once, and a node that is not an OID still throws as sigstore-js's", () => {
      type Obj = { subs: Obj[]; toOID(): string };
      const sealed = (freshLeaf() as unknown as { root: Obj }).root;
      const plain = (plainLeaf() as unknown as { root: Obj }).root;
      const oids = (a: Obj, b: Obj, out: [string, string][]): [string, string][] => {
        let mine: string | undefined;
        let theirs: string | undefined;
        try {
          theirs = b.toOID();
        } catch (err) {
          expect(() => a.toOID()).toThrow((err as Error).message);
        }
        if (theirs !== undefined) {
          mine = a.toOID();
          out.push([mine, theirs]);
        }
        a.subs.forEach((sub, i) => oids(sub, b.subs[i]!, out));
        return out;
      };
      const pairs = oids(sealed, plain, []);
      expect(pairs.length).toBeGreaterThan(8); // algorithms, names, every extension
      for (const [mine, theirs] of pairs) expect(mine).toBe(theirs);
      expect(pairs.map(([o]) => o)).toContain('1.3.6.1.4.1.11129.2.4.2'); // the SCT extension
      // parsed once: sigstore-js's own toOID (the prototype's) runs for the first call only
      const leaf = freshLeaf();
      const spy = vi.spyOn(Object.getPrototypeOf(sealed) as Obj, 'toOID');
      try {
        for (let i = 0; i < 3; i++)
          expect(leaf.extensions.map((e) => e.subs[0]!.toOID())).toHaveLength(
            pairs.length > 0 ? leaf.extensions.length : 0,
          );
        expect(spy).toHaveBeenCalledTimes(leaf.extensions.length);
      } finally {
        spy.mockRestore();
      }
    });
  });

  describe("the leaf's copy (X509Certificate.clone)", () => {
    type Node = { subs: Node[]; value: Buffer; tag: unknown };
    const nodes = (n: Node): Node[] => [n, ...n.subs.flatMap(nodes)];

    it('is the tree sigstore-js would parse again, is not parsed, and has nodes of its own along the splice', () => {
      const cert = freshLeaf();
      const Cert = cert.constructor as unknown as { parse(b: Buffer): LeafCertificate };
      const spy = vi.spyOn(Cert, 'parse');
      let copy: LeafCertificate;
      try {
        copy = cert.clone();
        expect(spy).not.toHaveBeenCalled();
      } finally {
        spy.mockRestore();
      }
      expect(copy).not.toBe(cert);
      expect(copy.constructor).toBe(cert.constructor);
      const mine = nodes((cert as unknown as { root: Node }).root);
      const theirs = nodes((copy as unknown as { root: Node }).root);
      const parsed = nodes((plainLeaf().clone() as unknown as { root: Node }).root);
      expect(theirs).toHaveLength(parsed.length);
      expect(theirs.length).toBeGreaterThan(50);
      const unlike = theirs.filter(
        (n, i) =>
          JSON.stringify(n.tag) !== JSON.stringify(parsed[i]!.tag) ||
          !n.value.equals(parsed[i]!.value) ||
          n.subs.length !== parsed[i]!.subs.length,
      );
      expect(unlike).toEqual([]);
      // New: the certificate, its TBS, the TBS's [3] and the extension list, each with an array of its own.
      const copied = theirs.filter((n, i) => n !== mine[i]);
      const root = (copy as unknown as { root: Node }).root;
      const tbs = root.subs[0]!;
      const explicit = tbs.subs[tbs.subs.length - 1]!; // a Fulcio leaf's TBS ends with its [3] extensions
      const path = [root, tbs, explicit, explicit.subs[0]];
      expect(copied).toHaveLength(path.length);
      copied.forEach((n, k) => expect(n).toBe(path[k]));
      expect(explicit.subs[0]!.subs).toBe(copy.extensions);
      for (const n of copied) expect(n.subs).not.toBe(mine[theirs.indexOf(n)]!.subs);
    });

    it('shares no array the splice can reach with the leaf, and a write into a node it shares throws', () => {
      const cert = freshLeaf();
      const before = rootOf(cert).toDER();
      const copy = cert.clone();
      const n = cert.extensions.length;
      copy.extensions.splice(0, copy.extensions.length);
      expect(cert.extensions).toHaveLength(n);
      expect(rootOf(cert).toDER()).toBe(before);
      // sigstore-js writes into nothing else; if it did, the leaf would not keep stale bytes
      type Obj = { subs: Obj[]; value: Buffer };
      const serial = (copy as unknown as { root: Obj }).root.subs[0]!.subs[1]!; // shared with the leaf
      expect(() => {
        serial.value = Buffer.from(serial.value.map((b) => b ^ 0xff));
      }).toThrow(TypeError);
      expect(rootOf(cert).toDER().equals(reencoded())).toBe(true);
    });

    it('is sealed once memoised: a change to the leaf throws, and its encoding stays what it was parsed from', () => {
      const cert = freshLeaf();
      type Obj = { subs: Obj[]; value: Buffer; tag: unknown };
      const root = (cert as unknown as { root: Obj }).root;
      expect(() => cert.extensions.pop()).toThrow(TypeError); // nothing in imagegate or sigstore-js does this
      expect(() => root.subs[0]!.subs.splice(0, 1)).toThrow(TypeError);
      expect(() => {
        root.subs[0]!.subs[0]!.tag = root.subs[1]!.tag;
      }).toThrow(TypeError);
      expect(rootOf(cert).toDER().equals(reencoded())).toBe(true);
      expect(rootOf(cert.clone()).toDER().equals(reencoded())).toBe(true);
    });

    it('is memoised, not sealed, when parsed again: its splice is encoded again', () => {
      type Obj = { subs: Obj[]; value: Buffer };
      const cert = plainLeaf();
      const version = (cert as unknown as { root: Obj }).root.subs[0]!.subs[0]!.subs[0]!;
      version.value = Buffer.from([0x02]); // bytes parsed from nowhere: the tree is not canonical
      memoiseLeaf(cert);
      const copy = cert.clone(); // sigstore-js's own copy, memoised
      const plain = plainLeaf().clone();
      const before = copy.tbsCertificate.toDER();
      expect(before.equals(plain.tbsCertificate.toDER())).toBe(true);
      const sct = copy.extensions.findIndex((e) => e.subs[0]!.toOID() === '1.3.6.1.4.1.11129.2.4.2');
      copy.extensions.splice(sct, 1); // no throw: not sealed
      plain.extensions.splice(sct, 1);
      const after = copy.tbsCertificate.toDER();
      expect(after.length).toBeLessThan(before.length);
      expect(after.equals(plain.tbsCertificate.toDER())).toBe(true);
    });

    it('is parsed again for a leaf that was not DER as parsed', () => {
      type Obj = { subs: Obj[]; value: Buffer };
      const cert = plainLeaf();
      const version = (cert as unknown as { root: Obj }).root.subs[0]!.subs[0]!.subs[0]!;
      version.value = Buffer.from([0x02]); // bytes parsed from nowhere: the tree is not canonical
      memoiseLeaf(cert);
      const Cert = cert.constructor as unknown as { parse(b: Buffer): LeafCertificate };
      const spy = vi.spyOn(Cert, 'parse');
      try {
        const copy = cert.clone();
        expect(spy).toHaveBeenCalledTimes(1);
        expect(rootOf(copy).toDER().equals(rootOf(cert).toDER())).toBe(true);
      } finally {
        spy.mockRestore();
      }
    });
  });

  describe('withoutStackTraces', () => {
    it('captures no stack while it runs and restores the limit, also when it throws', () => {
      const limit = Error.stackTraceLimit;
      expect(withoutStackTraces(() => new Error('inside').stack)).not.toMatch(/\n\s+at /);
      expect(() =>
        withoutStackTraces(() => {
          throw new Error('parse failed');
        }),
      ).toThrow('parse failed');
      expect(Error.stackTraceLimit).toBe(limit);
      expect(new Error('outside').stack).toMatch(/\n\s+at /);
    });
  });

  describe('withMemoisedCertificates', () => {
    it("verifies a trusted certificate's self-signature once and still chains the leaf", () => {
      const plain = material(instance);
      const ca = plain.certificateAuthorities[0]!.certChain[0]!;
      const spy = vi.spyOn(Object.getPrototypeOf(ca) as { verify(i?: unknown): boolean }, 'verify');
      const trusted = withMemoisedCertificates(plain);
      try {
        for (let i = 0; i < 3; i++) {
          const result = verifyCertificateChainAt(freshLeaf(), new Date(), trusted);
          expect(result.signer.identity?.subjectAlternativeName).toBe(ACME.subject);
        }
        // the CA's own signature once (each leaf is checked with the CA's key imported once)
        expect(spy.mock.calls.filter((c) => c[0] === undefined || c[0] === ca)).toHaveLength(1);
      } finally {
        spy.mockRestore();
      }
    });

    it('rejects a leaf whose signature by the CA does not verify', () => {
      const trusted = withMemoisedCertificates(material(instance));
      expect(verifyCertificateChainAt(freshLeaf(), new Date(), trusted).sctCount).toBeGreaterThan(0);
      const bundle = structuredClone(bundleJson) as {
        verificationMaterial: { certificate: { rawBytes: string } };
      };
      const der = Buffer.from(bundle.verificationMaterial.certificate.rawBytes, 'base64');
      der[der.length - 1]! ^= 0x01; // the last byte of the ECDSA signature value
      bundle.verificationMaterial.certificate.rawBytes = der.toString('base64');
      const entity = toVerifiableEntity(bundleFromJSON(bundle), undefined);
      if (entity.key.$case !== 'certificate') throw new Error('the test instance signs with certificates');
      const tampered = entity.key.certificate;
      expect(() => verifyCertificateChainAt(tampered, new Date(), trusted)).toThrow(
        expect.objectContaining({ name: 'VerificationError', code: 'CERTIFICATE_ERROR' }),
      );
    });

    it('rejects a leaf one TBS byte away from a leaf it verified (same length and shape)', () => {
      const trusted = withMemoisedCertificates(material(instance));
      expect(verifyCertificateChainAt(freshLeaf(), new Date(), trusted).sctCount).toBeGreaterThan(0);
      const bundle = structuredClone(bundleJson) as {
        verificationMaterial: { certificate: { rawBytes: string } };
      };
      const der = Buffer.from(bundle.verificationMaterial.certificate.rawBytes, 'base64');
      // 30 82 LL LL 30 82 LL LL a0 03 02 01 02 | 02 LEN serial…: a byte of the serial number
      expect([der[13], der[14]! < 0x80]).toEqual([0x02, true]);
      der[16]! ^= 0x01;
      bundle.verificationMaterial.certificate.rawBytes = der.toString('base64');
      const entity = toVerifiableEntity(bundleFromJSON(bundle), undefined);
      if (entity.key.$case !== 'certificate') throw new Error('the test instance signs with certificates');
      const tampered = entity.key.certificate;
      expect(tampered.tbsCertificate.toDER().length).toBe(freshLeaf().tbsCertificate.toDER().length);
      expect(tampered.tbsCertificate.toDER().equals(freshLeaf().tbsCertificate.toDER())).toBe(false);
      expect(() => verifyCertificateChainAt(tampered, new Date(), trusted)).toThrow(
        expect.objectContaining({ name: 'VerificationError', code: 'CERTIFICATE_ERROR' }),
      );
      expect(verifyCertificateChainAt(freshLeaf(), new Date(), trusted).sctCount).toBeGreaterThan(0);
    });

    it('rejects a leaf of another CA', () => {
      const trusted = withMemoisedCertificates(material(other));
      for (let i = 0; i < 2; i++) {
        expect(() => verifyCertificateChainAt(freshLeaf(), new Date(), trusted)).toThrow(
          expect.objectContaining({ name: 'VerificationError', code: 'CERTIFICATE_ERROR' }),
        );
      }
    });
  });
});
