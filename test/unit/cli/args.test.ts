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

describe('serve --kubeconfig', () => {
  it('carries the file and the context', () => {
    expect(parseCommand(['serve', '--kubeconfig', '/k', '--context', 'dev'])).toMatchObject({
      command: 'serve',
      kubeconfig: '/k',
      context: 'dev',
    });
  });
});

describe('audit', () => {
  it('takes the documented flags, repeated namespaces and the three outputs', () => {
    expect(
      parseCommand([
        'audit',
        '--policy',
        'p.yaml',
        '--kubeconfig',
        '/k',
        '--context',
        'dev',
        '--namespace',
        'a',
        '--namespace',
        'b',
        '--output',
        'html',
        '--out',
        'r.html',
      ]),
    ).toMatchObject({
      command: 'audit',
      common: { policy: ['p.yaml'] },
      kubeconfig: '/k',
      context: 'dev',
      namespaces: ['a', 'b'],
      output: 'html',
      out: 'r.html',
    });
    expect(parseCommand(['audit'])).toMatchObject({ command: 'audit', namespaces: [], output: 'text' });
  });

  it('refuses other outputs and positional arguments', () => {
    expect(usageError(['audit', '--output', 'yaml'])).toMatch(/--output must be one of text, json, html/);
    expect(usageError(['audit', 'extra'])).toMatch(/audit takes no arguments/);
  });
});

describe('serve --background-audit', () => {
  it('reads Go-style durations of at least a minute, and the report kind', () => {
    expect(parseCommand(['serve', '--background-audit', '1h30m', '--reports', 'openreports'])).toMatchObject({
      backgroundAudit: 5_400_000,
      reports: 'openreports',
      events: false,
    });
    expect(parseCommand(['serve'])).toMatchObject({ reports: 'policyreports' });
    expect(usageError(['serve', '--background-audit', '30s'])).toMatch(/at least 1m/);
    expect(usageError(['serve', '--background-audit', 'hourly'])).toMatch(/a duration like 1h/);
    expect(usageError(['serve', '--reports', 'kyverno'])).toMatch(/--reports must be one of/);
  });
});
