/**
 * Image names (image-names.ts): an engine's memo parses and matches each name once per policy set,
 * and is the engine's own: another engine's memo, or another policy set, starts empty.
 */
import { describe, expect, it } from 'vitest';
import { ImageNames, nameFor } from '../../../src/evaluate/image-names.js';
import { compilePolicies } from '../../../src/policy/compile.js';
import { parsePolicyYaml } from '../../../src/policy/load.js';
import { parseReference } from '../../../src/registry/reference.js';
import { policyYaml } from '../../helpers/policy-documents.js';

const policySet = () =>
  compilePolicies(
    parsePolicyYaml(policyYaml('team', { images: [{ glob: 'registry.example.com/team/**' }] }), 'p'),
    {},
  );
const IMAGE = 'registry.example.com/team/app:1';

describe('ImageNames', () => {
  it('names an image once per policy set: the same answer again, the policies it matches', () => {
    const policies = policySet();
    const names = new ImageNames();
    const first = names.for(policies)(IMAGE);
    expect(first.full).toBe(IMAGE);
    expect(first.matching.map((p) => p.name)).toEqual(['team']);
    expect(names.for(policies)(IMAGE)).toBe(first);
  });

  it('shares nothing between two engines, nor between two policy sets of one engine', () => {
    const policies = policySet();
    const mine = new ImageNames();
    const first = mine.for(policies)(IMAGE);
    expect(new ImageNames().for(policies)(IMAGE)).not.toBe(first);
    expect(mine.for(policySet())(IMAGE)).not.toBe(first);
  });

  it('is passed over without a memo or with a parser of the caller: each name parsed again', () => {
    const policies = policySet();
    const names = new ImageNames();
    const memoised = nameFor(IMAGE, policies, names, undefined);
    expect(nameFor(IMAGE, policies, names, undefined)).toBe(memoised);
    expect(nameFor(IMAGE, policies, names, parseReference)).not.toBe(memoised);
    expect(nameFor(IMAGE, policies, undefined, undefined)).toEqual(memoised);
    expect(nameFor(IMAGE, policies, undefined, undefined)).not.toBe(memoised);
  });
});
