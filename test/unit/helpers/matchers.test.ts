import { describe, expect, it } from 'vitest';
import { ConfigError, RegistryError } from '../../../src/errors.js';

const throwing = (): never => {
  throw new RegistryError('TIMEOUT', 'manifest a/b:v1 aborted: deadline reached', { indeterminate: true });
};
const rejecting = (): Promise<never> => Promise.reject(new ConfigError('USAGE', '--policy expects FILE'));

describe('toThrowWithCode', () => {
  describe('when the code matches', () => {
    it('passes for a sync throw, a rejected promise and .rejects', async () => {
      expect(throwing).toThrowWithCode('TIMEOUT');
      await expect(rejecting()).toThrowWithCode('USAGE');
      await expect(rejecting()).rejects.toThrowWithCode('USAGE');
      await expect(rejecting).toThrowWithCode('USAGE');
    });

    it('checks the message against a RegExp and fields against an object', async () => {
      expect(throwing).toThrowWithCode('TIMEOUT', /deadline reached/);
      expect(throwing).toThrowWithCode('TIMEOUT', { indeterminate: true });
      await expect(rejecting()).rejects.toThrowWithCode('USAGE', { indeterminate: false });
    });
  });

  describe('when it should fail', () => {
    it('fails on another code, naming both', () => {
      expect(() => expect(throwing).toThrowWithCode('UNAUTHORIZED')).toThrow(
        /expected an error with code UNAUTHORIZED, got RegistryError \[TIMEOUT\]/,
      );
    });

    it('fails when nothing is thrown or the promise resolves', async () => {
      expect(() => expect(() => 1).toThrowWithCode('TIMEOUT')).toThrow(/nothing was thrown/);
      await expect(expect(Promise.resolve(1)).toThrowWithCode('TIMEOUT')).rejects.toThrow(
        /nothing was thrown/,
      );
    });

    it('fails when the details do not match', () => {
      expect(() => expect(throwing).toThrowWithCode('TIMEOUT', /refused/)).toThrow(/matching \/refused\//);
      expect(() => expect(throwing).toThrowWithCode('TIMEOUT', { indeterminate: false })).toThrow(
        /"indeterminate":false/,
      );
    });

    it('supports .not', () => {
      expect(throwing).not.toThrowWithCode('USAGE');
      expect(() => expect(throwing).not.toThrowWithCode('TIMEOUT')).toThrow(/expected not an error/);
    });
  });
});
