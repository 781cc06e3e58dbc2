import { describe, expect, it } from 'vitest';
import { RegistryError, withoutStack } from '../../../src/errors.js';
import { statusError } from '../../../src/registry/status-error.js';

describe('statusError', () => {
  describe('when a manifest is not found (an expected answer)', () => {
    it('is a determinate MANIFEST_UNKNOWN without a stack trace', () => {
      const err = statusError(404, 'manifest r/x:sha256-1.att', 'MANIFEST_UNKNOWN', 'MANIFEST_UNKNOWN');
      expect(err).toBeInstanceOf(RegistryError);
      expect(err.code).toBe('MANIFEST_UNKNOWN');
      expect(err.indeterminate).toBe(false);
      expect(err.message).toBe('manifest r/x:sha256-1.att: not found (MANIFEST_UNKNOWN)');
      expect(err.stack).toBe('RegistryError: manifest r/x:sha256-1.att: not found (MANIFEST_UNKNOWN)');
    });
  });

  describe('when a blob is not found', () => {
    it('is indeterminate and keeps its stack trace', () => {
      const err = statusError(404, 'blob r/x@sha256:1', '', 'BLOB_UNKNOWN');
      expect(err.code).toBe('BLOB_UNKNOWN');
      expect(err.indeterminate).toBe(true);
      expect(err.stack).toContain('    at ');
    });
  });
});

describe('withoutStack', () => {
  it('restores the stack trace limit, also when making the error throws', () => {
    const limit = Error.stackTraceLimit;
    expect(() =>
      withoutStack(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(Error.stackTraceLimit).toBe(limit);
    expect(new Error('x').stack).toContain('    at ');
  });
});
