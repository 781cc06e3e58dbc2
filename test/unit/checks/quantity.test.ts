import { TypeCompiler } from '@sinclair/typebox/compiler';
import { describe, expect, it } from 'vitest';
import { formatBytes, parseQuantity, Quantity } from '../../../src/checks/quantity.js';
import { validatePolicyDocument } from '../../../src/policy/validate.js';

describe('parseQuantity', () => {
  it.each([
    ['300Mi', 300 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['512Ki', 512 * 1024],
    ['500M', 500e6],
    ['2k', 2000],
    ['1G', 1e9],
    ['1048576', 1048576],
    [4096, 4096],
    ['0.5Ki', 512],
    ['1Ei', 2 ** 60],
    ['2E', 2e18],
    ['1Pi', 2 ** 50],
  ] as const)('reads %s as %d bytes', (q, bytes) => {
    expect(parseQuantity(q)).toBe(bytes);
  });

  it('rounds fractional bytes up', () => {
    expect(parseQuantity('0.1Ki')).toBe(103);
  });

  it.each(['', '10MB', '1m', '-1', 'Mi', '1 Gi', '1e6'])(
    'rejects %j with POLICY_INVALID naming the field',
    (q) => {
      expect(() => parseQuantity(q, 'policy p: size.maxCompressed')).toThrowWithCode(
        'POLICY_INVALID',
        /policy p: size\.maxCompressed/,
      );
    },
  );
});

describe('the quantity grammar', () => {
  const schema = TypeCompiler.Compile(Quantity);
  const parses = (q: string): boolean => {
    try {
      parseQuantity(q);
      return true;
    } catch {
      return false;
    }
  };
  const policyWith = (maxCompressed: string) => ({
    apiVersion: 'imagegate.dev/v1alpha1',
    kind: 'ImagePolicy',
    metadata: { name: 'q' },
    spec: { images: [{ glob: '**' }], size: { maxCompressed } },
  });

  it.each(['1Ei', '1E', '300Mi', '1.5Gi', '0', '7k', '1048576'])(
    'accepts %j in the policy schema and in the parser',
    (q) => {
      expect(schema.Check(q)).toBe(true);
      expect(parses(q)).toBe(true);
      expect(validatePolicyDocument(policyWith(q), 'test').spec.size?.maxCompressed).toBe(q);
    },
  );

  it.each(['1Zi', '1e6', ' 1Gi', '1Gi ', '1.Gi', '.5Gi', '1KI', '1m', '1 Gi', ''])(
    'refuses %j in the policy schema and in the parser',
    (q) => {
      expect(schema.Check(q)).toBe(false);
      expect(parses(q)).toBe(false);
      expect(() => validatePolicyDocument(policyWith(q), 'test')).toThrow(/spec\.size\.maxCompressed/);
    },
  );
});

describe('formatBytes', () => {
  it('uses binary units like docker', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(3.4 * 1024)).toBe('3.4 KiB');
    expect(formatBytes(812 * 2 ** 20)).toBe('812 MiB');
    expect(formatBytes(1.25 * 2 ** 30)).toBe('1.3 GiB');
    expect(formatBytes(2 ** 20)).toBe('1 MiB');
    expect(formatBytes(2 ** 60)).toBe('1 EiB');
  });
});
