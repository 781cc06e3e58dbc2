import { X509Certificate } from 'node:crypto';
import { chmod, mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDevCertificate } from '../../../src/server/dev-cert.js';

describe('createDevCertificate', () => {
  describe('when several servers start at once with one data directory', () => {
    it('gives them one CA, whose file verifies every server certificate', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'imagegate-devca-'));
      const certs = await Promise.all([1, 2, 3, 4].map(() => createDevCertificate(dir)));
      const later = await createDevCertificate(dir);
      const caFile = await readFile(join(dir, 'imagegate-dev-ca.crt'), 'utf8');
      const ca = new X509Certificate(caFile);
      for (const c of [...certs, later]) {
        expect(c.ca).toBe(caFile);
        expect(c.caPath).toBe(join(dir, 'imagegate-dev-ca.crt'));
        expect(new X509Certificate(c.cert).verify(ca.publicKey)).toBe(true);
      }
      // Five distinct server keys, no temporary files left behind.
      expect(new Set([...certs, later].map((c) => c.key)).size).toBe(5);
      expect((await readdir(dir)).sort()).toEqual(['imagegate-dev-ca.crt', 'imagegate-dev-ca.key']);
    });
  });

  describe('when the data directory is writable by others', () => {
    it('refuses to keep a CA key there', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'imagegate-devca-'));
      await chmod(dir, 0o777);
      await expect(createDevCertificate(dir)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    });
  });
});
