import { describe, expect, it } from 'vitest';
import { digestAlgorithm, isDigest } from '../../../src/shared/digest.js';
import { dockerHubRepository, normaliseRegistryHost } from '../../../src/shared/docker-hub.js';
import { parseDurationMs } from '../../../src/shared/duration.js';
import { isRecord } from '../../../src/shared/guards.js';

const hex = (n: number): string => 'a'.repeat(n);

describe('shared rules', () => {
  describe('isDigest', () => {
    it('accepts sha256, sha384 and sha512 with lowercase hex of their length', () => {
      expect(isDigest(`sha256:${hex(64)}`)).toBe(true);
      expect(isDigest(`sha384:${hex(96)}`)).toBe(true);
      expect(isDigest(`sha512:${hex(128)}`)).toBe(true);
      expect(digestAlgorithm(`sha384:${hex(96)}`)).toBe('sha384');
    });
    it('refuses other lengths, upper case, unknown algorithms and trailing text', () => {
      for (const d of [
        `sha256:${hex(63)}`,
        `sha256:${'A'.repeat(64)}`,
        `md5:${hex(32)}`,
        `sha256:${hex(64)}:x`,
      ]) {
        expect(isDigest(d)).toBe(false);
      }
    });
  });

  describe('Docker Hub names', () => {
    it('maps every alias to docker.io and lowercases other hosts', () => {
      expect(normaliseRegistryHost('index.docker.io')).toBe('docker.io');
      expect(normaliseRegistryHost(' Registry-1.Docker.IO ')).toBe('docker.io');
      expect(normaliseRegistryHost('GHCR.io')).toBe('ghcr.io');
    });
    it('puts one-component Docker Hub repositories under library/', () => {
      expect(dockerHubRepository('docker.io', 'nginx')).toBe('library/nginx');
      expect(dockerHubRepository('docker.io', 'bitnami/nginx')).toBe('bitnami/nginx');
      expect(dockerHubRepository('ghcr.io', 'nginx')).toBe('nginx');
    });
  });

  describe('parseDurationMs', () => {
    it('reads each unit the caller allows', () => {
      const units = ['ms', 's', 'm', 'h', 'd', 'w'] as const;
      expect(units.map((u) => parseDurationMs(`2${u}`, { units }))).toEqual([
        2, 2000, 120_000, 7_200_000, 172_800_000, 1_209_600_000,
      ]);
      expect(parseDurationMs('1.5s', { units: ['s'] })).toBe(1500);
    });
    it('refuses units and fractions the caller does not allow', () => {
      expect(parseDurationMs('3d', { units: ['ms', 's', 'm'] })).toBeUndefined();
      expect(parseDurationMs('1.5d', { units: ['d'], fractions: false })).toBeUndefined();
      expect(parseDurationMs('10', { units: ['s'] })).toBeUndefined();
      expect(parseDurationMs('-1s', { units: ['s'] })).toBeUndefined();
    });
    it('reads Go-style sequences only where the caller asks for compound', () => {
      const units = ['h', 'm', 's'] as const;
      expect(parseDurationMs('1h30m', { units, compound: true })).toBe(5_400_000);
      expect(parseDurationMs('1m30s', { units, compound: true })).toBe(90_000);
      expect(parseDurationMs('1.5h', { units, compound: true })).toBe(5_400_000);
      expect(parseDurationMs('1h30m', { units })).toBeUndefined();
      expect(parseDurationMs('1h30', { units, compound: true })).toBeUndefined();
      expect(parseDurationMs('1h 30m', { units, compound: true })).toBeUndefined();
      expect(parseDurationMs('', { units, compound: true })).toBeUndefined();
    });
    it('reads ms before m, and refuses ms where only h, m, s are allowed', () => {
      expect(parseDurationMs('5ms', { units: ['ms', 'm'] })).toBe(5);
      expect(parseDurationMs('1ms', { units: ['h', 'm', 's'], compound: true })).toBeUndefined();
    });
  });

  it('isRecord accepts plain objects only', () => {
    expect([{}, { a: 1 }].map(isRecord)).toEqual([true, true]);
    expect([null, [], 'x', 1, undefined].map(isRecord)).toEqual([false, false, false, false, false]);
  });
});
