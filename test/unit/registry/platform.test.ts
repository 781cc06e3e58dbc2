import { describe, expect, it } from 'vitest';
import {
  canonicalPlatform,
  matchesPlatform,
  normalizePlatform,
  parsePlatform,
} from '../../../src/registry/platform.js';

describe('normalizePlatform (containerd normalisation)', () => {
  it.each([
    ['linux/x86_64', 'linux/amd64'],
    ['linux/x86-64', 'linux/amd64'],
    ['Linux/AMD64', 'linux/amd64'],
    ['linux/amd64/v1', 'linux/amd64'],
    ['linux/amd64/V3', 'linux/amd64/v3'],
    ['linux/aarch64', 'linux/arm64'],
    ['linux/aarch64/8', 'linux/arm64'],
    ['linux/arm64/v8', 'linux/arm64'],
    ['linux/arm64/v8.2', 'linux/arm64/v8.2'],
    ['linux/armhf', 'linux/arm/v7'],
    ['linux/armel', 'linux/arm/v6'],
    ['linux/arm', 'linux/arm/v7'],
    ['linux/arm/7', 'linux/arm/v7'],
    ['linux/arm/6', 'linux/arm/v6'],
    ['linux/i386', 'linux/386'],
    ['MacOS/arm64', 'darwin/arm64'],
    ['Unknown/Unknown', 'unknown/unknown'],
  ])('%s is %s', (spelt, canonical) => {
    expect(canonicalPlatform(parsePlatform(spelt))).toBe(canonical);
  });

  it('keeps an unknown architecture as written, lowercased', () => {
    expect(normalizePlatform({ os: 'linux', architecture: 'RISCV64' })).toEqual({
      os: 'linux',
      architecture: 'riscv64',
      variant: '',
    });
  });
});

describe('matchesPlatform (which entries a node of the selector could run)', () => {
  it.each([
    ['linux/amd64', 'linux/x86_64', true],
    ['linux/amd64', 'Linux/AMD64/v3', true],
    ['linux/x86_64', 'linux/amd64', true],
    ['linux/arm64', 'linux/aarch64/v8', true],
    ['linux/arm64/v8', 'linux/arm64', true],
    ['linux/arm64/v8', 'linux/arm64/v8.2', false],
    ['linux/arm/v7', 'linux/armhf', true],
    ['linux/arm/v7', 'linux/armel', true],
    ['linux/arm/v6', 'linux/arm', false],
    ['linux/amd64/v2', 'linux/amd64', true],
    ['linux/amd64/v2', 'linux/amd64/v3', false],
    ['linux/amd64', 'linux/arm64', false],
    ['linux/amd64', 'windows/amd64', false],
  ])('a %s node could run %s: %s', (selector, entry, expected) => {
    expect(matchesPlatform(selector, parsePlatform(entry))).toBe(expected);
  });
});
