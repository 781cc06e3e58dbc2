import { describe, expect, it } from 'vitest';
import { parseCommand, parseListen } from '../../../src/cli/args.js';

function usageError(argv: string[]): string {
  expect(() => parseCommand(argv)).toThrowWithCode('USAGE');
  try {
    parseCommand(argv);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('unreachable: parseCommand threw above');
}

describe('parseCommand', () => {
  describe('when the arguments are wrong', () => {
    it.each([
      [['frobnicate'], 'unknown command "frobnicate"'],
      [['check'], 'check needs at least one IMAGE'],
      [['review'], 'review needs exactly one FILE'],
      [['review', 'a', 'b'], 'review needs exactly one FILE'],
      [['check', '--mode', 'strict', 'x'], '--mode must be one of enforce, audit (got "strict")'],
      [['check', '--unmatched', 'maybe', 'x'], '--unmatched must be one of allow, audit, deny'],
      [['serve', '--tls-cert', 'c.pem'], '--tls-cert and --tls-key go together'],
      [['serve', '--listen', 'nope'], '--listen must be HOST:PORT (got "nope")'],
      [['check', '--no-such-flag', 'x'], "Unknown option '--no-such-flag'"],
    ])('%j is a usage error saying %s', (argv, message) => {
      expect(usageError(argv)).toContain(message);
    });
  });

  describe('when check is given repeated policies', () => {
    it('keeps them all, in order, with the defaults for the rest', () => {
      expect(
        parseCommand(['check', '--policy', 'a.yaml', '--policy', 'dir', 'nginx', 'redis']),
      ).toMatchObject({
        command: 'check',
        common: { policy: ['a.yaml', 'dir'], logLevel: 'info' },
        output: 'text',
        namespace: 'default',
        images: ['nginx', 'redis'],
      });
    });
  });

  describe('when serve is given no listen address', () => {
    it('listens on 0.0.0.0:8443', () => {
      expect(parseCommand(['serve'])).toMatchObject({
        command: 'serve',
        listen: { host: '0.0.0.0', port: 8443 },
      });
    });
  });
});

describe('parseListen', () => {
  it('reads IPv4, IPv6 and empty hosts', () => {
    expect(parseListen('127.0.0.1:9443')).toEqual({ host: '127.0.0.1', port: 9443 });
    expect(parseListen('[::1]:8443')).toEqual({ host: '::1', port: 8443 });
    expect(parseListen(':8443')).toEqual({ host: '0.0.0.0', port: 8443 });
  });
  it('rejects ports out of range', () => {
    expect(() => parseListen('0.0.0.0:70000')).toThrow(/--listen must be HOST:PORT/);
  });
});
