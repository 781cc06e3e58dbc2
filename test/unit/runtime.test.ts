/**
 * Development, tests and CI run on the Node the `node` devDependency pins (npm puts its
 * node_modules/.bin/node first on PATH for every npm script and npx), whatever Node ran `npm ci`.
 * This file runs in a vitest worker: a suite started on another Node fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
};

describe('the runtime', () => {
  it('is the Node the `node` devDependency pins, in test workers too', () => {
    expect(process.versions.node).toBe(pkg.devDependencies.node);
    expect(process.execPath).toMatch(/node_modules[/\\]node[/\\]bin[/\\]node$/);
  });

  it('is Node 24, which engines declares', () => {
    expect(process.versions.node.split('.')[0]).toBe('24');
    expect(pkg.engines.node).toMatch(/\^24\./);
  });
});
