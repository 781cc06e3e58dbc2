import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../../src/cli/args.js';

describe('serve request-body flags', () => {
  it('leaves the budget to its defaults when none is given', () => {
    expect(parseCommand(['serve'])).toMatchObject({ command: 'serve', bodyBudget: {} });
  });

  it('reads counts, sizes and durations into the body budget', () => {
    const cmd = parseCommand([
      'serve',
      '--max-request-bodies=64',
      '--max-request-body-bytes=12Mi',
      '--max-request-bodies-per-address=8',
      '--max-request-body-bytes-per-address=4Mi',
      '--request-body-timeout=5s',
      '--request-body-first-byte-timeout=500ms',
      '--request-body-min-rate=0',
    ]);
    expect(cmd).toMatchObject({
      bodyBudget: {
        maxBodies: 64,
        maxBytes: 12 * 1024 * 1024,
        maxBodiesPerAddress: 8,
        maxBytesPerAddress: 4 * 1024 * 1024,
        receiveTimeoutMs: 5000,
        firstByteTimeoutMs: 500,
        minBytesPerSecond: 0,
      },
    });
  });

  it.each([
    ['--max-request-bodies=0', /--max-request-bodies must be a whole number/],
    ['--max-request-bodies=-3', /--max-request-bodies must be a whole number/],
    ['--max-request-body-bytes=lots', /--max-request-body-bytes must be a size/],
    ['--max-request-body-bytes=10', /must be at least 1024 bytes/],
    ['--request-body-timeout=10', /--request-body-timeout must be a duration/],
    ['--request-body-first-byte-timeout=5ms', /at least 100ms/],
  ])('refuses %s as a usage error', (flag, message) => {
    expect(() => parseCommand(['serve', flag])).toThrowWithCode('USAGE', message);
  });
});
