import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadPolicyFiles, parsePolicyYaml } from '../../../src/policy/load.js';
import { validatePolicyDocument } from '../../../src/policy/validate.js';
import { authorityPolicy, policyObject } from '../../helpers/policy-documents.js';

const policy = (name: string, spec = 'images: [{ glob: "registry.example.com/**" }]'): string =>
  `apiVersion: imagegate.dev/v1alpha1\nkind: ImagePolicy\nmetadata:\n  name: ${name}\nspec:\n  ${spec}\n`;

function errorOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error('expected an error');
}

async function rejectionOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error('expected a rejection');
}

describe('validatePolicyDocument', () => {
  describe('when a field has the wrong value', () => {
    it('names the source, the policy, the field and the problem', () => {
      const doc = policyObject('p', { images: [{ glob: 'x' }], mode: 'block' });
      const err = errorOf(() => validatePolicyDocument(doc, 'p.yaml'));
      expect(err.code).toBe('POLICY_INVALID');
      expect(err.message).toMatch(
        /^p\.yaml \(ImagePolicy "p"\): invalid policy: spec\.mode: .*\(found "block"\)/,
      );
    });
  });

  describe('when a required field is missing or an unknown field is present', () => {
    it('lists every problem with its path', () => {
      const doc = policyObject('p', { requireDigest: 'yes', colour: 'red' });
      const { message } = errorOf(() => validatePolicyDocument(doc, 'src'));
      expect(message).toContain('spec.images');
      expect(message).toContain('missing');
      expect(message).toContain('spec.requireDigest');
      expect(message).toContain('spec.colour');
    });
  });

  describe('when a nested array entry is wrong', () => {
    it('names the index', () => {
      const doc = policyObject('p', { images: [{ glob: 'a' }, { glob: '' }] });
      expect(errorOf(() => validatePolicyDocument(doc, 'src')).message).toContain('spec.images[1].glob');
    });
  });

  describe('when the document is of another kind', () => {
    it('says what was expected and found', () => {
      const { message } = errorOf(() =>
        validatePolicyDocument({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }, 'f.yaml'),
      );
      expect(message).toBe(
        'f.yaml (ImagePolicy "c"): expected apiVersion imagegate.dev/v1alpha1 and kind ImagePolicy, found v1 ConfigMap',
      );
    });
  });

  describe('when the document is not a mapping', () => {
    it('says so', () => {
      expect(errorOf(() => validatePolicyDocument(['a'], 'f.yaml')).message).toBe(
        'f.yaml: not a YAML mapping',
      );
    });
  });

  describe('when a rule the schema cannot express is broken', () => {
    it('rejects an authority with both key and keyless', () => {
      const doc = authorityPolicy('sig', { key: { pem: 'x' }, keyless: { issuer: 'i', subject: 's' } });
      expect(errorOf(() => validatePolicyDocument(doc, 'src')).message).toContain(
        'spec.signature.authorities[0]: exactly one of "key" or "keyless" is required',
      );
    });
    it('rejects a subjectRegExp that does not compile', () => {
      const doc = authorityPolicy('sig', { keyless: { issuer: 'i', subjectRegExp: '(' } });
      expect(errorOf(() => validatePolicyDocument(doc, 'src')).message).toContain(
        'spec.signature.authorities[0].keyless.subjectRegExp: not a valid regular expression',
      );
    });
  });

  describe('when the document is valid', () => {
    it('returns it unchanged', () => {
      const doc = policyObject('ok', { images: [{ glob: '**' }] });
      expect(validatePolicyDocument(doc, 'src')).toBe(doc);
    });
  });
});

describe('parsePolicyYaml', () => {
  describe('when a file holds several documents', () => {
    it('returns each, skips empty ones and names a bad one by its index', () => {
      expect(
        parsePolicyYaml(`${policy('a')}---\n${policy('b')}---\n`, 'f.yaml').map((d) => d.metadata.name),
      ).toEqual(['a', 'b']);
      const { message } = errorOf(() =>
        parsePolicyYaml(`${policy('a')}---\n${policy('b', 'images: []')}`, 'f.yaml'),
      );
      expect(message).toMatch(/^f\.yaml#2 \(ImagePolicy "b"\): invalid policy: spec\.images:/);
    });
  });

  describe('when the YAML does not parse', () => {
    it('names the file and says it is a syntax error', () => {
      const err = errorOf(() => parsePolicyYaml('spec: [unclosed', 'f.yaml'));
      expect(err).toMatchObject({ code: 'POLICY_INVALID' });
      expect(err.message).toMatch(/^f\.yaml: YAML syntax error: /);
    });
  });
});

describe('loadPolicyFiles', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imagegate-load-'));
  });

  describe('when given a directory', () => {
    it('reads its .yaml, .yml and .json files in name order and ignores others', async () => {
      await writeFile(join(dir, 'b.yaml'), policy('b'));
      await writeFile(join(dir, 'a.yml'), policy('a'));
      await writeFile(join(dir, 'c.json'), JSON.stringify(policyObject('c')));
      await writeFile(join(dir, 'README.md'), 'not a policy');
      await writeFile(join(dir, '.hidden.yaml'), 'not: [valid');
      await mkdir(join(dir, 'sub.yaml'));
      const docs = await loadPolicyFiles([dir]);
      expect(docs.map((d) => d.metadata.name)).toEqual(['a', 'b', 'c']);
    });
  });

  describe('when two files define the same policy name', () => {
    it('rejects the set naming both files', async () => {
      await writeFile(join(dir, 'one.yaml'), policy('same'));
      await writeFile(join(dir, 'two.yaml'), policy('same'));
      const err = await rejectionOf(loadPolicyFiles([dir]));
      expect(err.code).toBe('POLICY_INVALID');
      expect(err.message).toBe(
        `${join(dir, 'two.yaml')}: ImagePolicy "same" is already defined in ${join(dir, 'one.yaml')}`,
      );
    });
  });

  describe('when a path does not exist', () => {
    it('is a configuration error naming the path', async () => {
      const err = await rejectionOf(loadPolicyFiles([join(dir, 'missing.yaml')]));
      expect(err.code).toBe('CONFIG_INVALID');
      expect(err.message).toContain(`policy path ${join(dir, 'missing.yaml')}`);
    });
  });

  describe('when several paths are given', () => {
    it('loads them all in order', async () => {
      await writeFile(join(dir, 'x.yaml'), policy('x'));
      await writeFile(join(dir, 'y.yaml'), policy('y'));
      const docs = await loadPolicyFiles([join(dir, 'y.yaml'), join(dir, 'x.yaml')]);
      expect(docs.map((d) => d.metadata.name)).toEqual(['y', 'x']);
    });
  });
});
