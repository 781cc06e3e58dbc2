/**
 * The chart's side of the registry budgets (docs/security.md): the heap limit that, with the default
 * budgets, keeps a replica under its memory limit; the auth-host allowlist; budgets in the registry
 * config that imagegate itself validates.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseCommand } from '../../src/cli/args.js';
import { loadRegistryConfig } from '../../src/registry/options.js';
import { helmTemplate } from '../helpers/helm.js';
import type { K8sObject } from '../helpers/k8s.js';

const container = (args: string[] = []): K8sObject =>
  helmTemplate(args).one('Deployment').spec.template.spec.containers[0] as K8sObject;

describe('charts/imagegate registry budgets', () => {
  it('caps the V8 heap well under the memory limit by default, and lets both be raised', () => {
    const c = container();
    expect(c.resources.limits.memory).toBe('512Mi');
    expect(c.env).toContainEqual({
      name: 'NODE_OPTIONS',
      value: '--max-old-space-size=256 --max-semi-space-size=16',
    });
    expect(container(['--set', 'nodeHeapMiB=700']).env).toContainEqual({
      name: 'NODE_OPTIONS',
      value: '--max-old-space-size=700 --max-semi-space-size=16',
    });
    expect(container(['--set', 'nodeSemiSpaceMiB=null']).env).toContainEqual({
      name: 'NODE_OPTIONS',
      value: '--max-old-space-size=256',
    });
  });

  it('returns freed blocks of 128 KiB and more to the system (glibc MALLOC_MMAP_THRESHOLD_), as the image does', () => {
    const env = (args: string[] = []): { name: string; value?: string }[] =>
      container(args).env as { name: string; value?: string }[];
    expect(env()).toContainEqual({ name: 'MALLOC_MMAP_THRESHOLD_', value: '131072' });
    expect(env(['--set', 'mallocMmapThreshold=262144'])).toContainEqual({
      name: 'MALLOC_MMAP_THRESHOLD_',
      value: '262144',
    });
    expect(env(['--set', 'mallocMmapThreshold=null']).map((e) => e.name)).not.toContain(
      'MALLOC_MMAP_THRESHOLD_',
    );
  });

  it('passes registry.allowAuth as --allow-auth-host', () => {
    expect(container(['--set', 'registry.allowAuth={auth.internal,tokens.example.com:8443}']).args).toEqual(
      expect.arrayContaining([
        '--allow-auth-host=auth.internal',
        '--allow-auth-host=tokens.example.com:8443',
      ]),
    );
  });

  it('carries registry.config.limits into the registry config, which imagegate validates at start-up', async () => {
    const r = helmTemplate(['--set', 'registry.config.limits.maxPlatformsPerImage=8']);
    const text = r.one('Secret', 'ig-imagegate-registry').stringData['registries.yaml'] as string;
    expect(parse(text)).toEqual({ limits: { maxPlatformsPerImage: 8 } });
    const dir = await mkdtemp(join(tmpdir(), 'imagegate-limits-'));
    try {
      await writeFile(join(dir, 'ok.yaml'), text);
      expect((await loadRegistryConfig(join(dir, 'ok.yaml'))).limits).toEqual({ maxPlatformsPerImage: 8 });
      await writeFile(join(dir, 'bad.yaml'), 'limits: {maxPlatformsPerImage: 0, maxSockets: 3}\n');
      await expect(loadRegistryConfig(join(dir, 'bad.yaml'))).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('passes requestBodies as the serve flags, which imagegate reads into its body budget', () => {
    expect(container().args.filter((a: string) => a.includes('request-bod'))).toEqual([]);
    const args = container([
      '--set',
      'requestBodies.maxInFlight=64,requestBodies.maxBytesInFlight=25165824,requestBodies.minBytesPerSecond=0',
      '--set-string',
      'requestBodies.maxBytesPerAddress=4Mi,requestBodies.firstByteTimeout=500ms',
    ]).args as string[];
    const cmd = parseCommand(['serve', ...args.filter((a) => a.includes('request-bod'))]);
    expect(cmd).toMatchObject({
      bodyBudget: {
        maxBodies: 64,
        maxBytes: 24 * 1024 * 1024,
        maxBytesPerAddress: 4 * 1024 * 1024,
        firstByteTimeoutMs: 500,
        minBytesPerSecond: 0,
      },
    });
    expect(() => helmTemplate(['--set', 'requestBodies.receiveTimeout=5'])).toThrow(/receiveTimeout/);
  });
});
