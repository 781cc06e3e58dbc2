#!/usr/bin/env node
// The `imagegate` command. In a clone (src/ present, after `npm ci`) it runs the TypeScript source
// through tsx, so there is nothing to build and nothing stale; in a packed install (files: dist) it runs
// the compiled CLI that `npm pack`'s prepack step built.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import(new URL('../dist/src/cli/main.js', import.meta.url).href);
}
