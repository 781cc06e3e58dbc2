import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../../src/cli/args.js';
import { setupEngine } from '../../../src/cli/setup.js';
import { imagegate } from '../../helpers/cli.js';

/** The engine serve would build from `argv` (its cache options included). */
async function engineOf(argv: string[]) {
  const cmd = parseCommand(argv);
  if (cmd.command !== 'serve') throw new Error('not serve');
  const setup = await setupEngine(cmd.common, pino({ level: 'silent' }), cmd.caches);
  await setup.registry.close();
  setup.kms.close();
  return setup;
}

describe('serve cache flags', () => {
  describe('--attestation-cache-bytes', () => {
    it('leaves the attestation evidence cache at 16 MiB when not given', async () => {
      expect(parseCommand(['serve'])).toMatchObject({ command: 'serve', caches: {} });
      expect((await engineOf(['serve'])).evidence.maxBytes).toBe(16 * 1024 * 1024);
    });

    it('gives the engine’s evidence cache its budget (0: keeps none)', async () => {
      expect((await engineOf(['serve', '--attestation-cache-bytes=64Mi'])).evidence.maxBytes).toBe(
        64 * 1024 * 1024,
      );
      expect((await engineOf(['serve', '--attestation-cache-bytes', '1048576'])).evidence.maxBytes).toBe(
        1024 * 1024,
      );
      const none = (await engineOf(['serve', '--attestation-cache-bytes=0'])).evidence;
      expect(none.maxBytes).toBe(0);
    });

    it.each([
      ['--attestation-cache-bytes=lots'],
      ['--attestation-cache-bytes=-1'],
      ['--attestation-cache-bytes=5Gi'],
      ['--attestation-cache-bytes='],
    ])('refuses %s as a usage error naming what it wants', (flag) => {
      expect(() => parseCommand(['serve', flag])).toThrowWithCode(
        'USAGE',
        /--attestation-cache-bytes must be a size from 0 \(keep none\) to 4Gi, such as 16Mi .*\(got "/,
      );
    });
  });
  describe('--kms-key-refresh', () => {
    it('gives the engine’s key reader its refresh interval (1m to 24h, compound units)', () => {
      expect(parseCommand(['serve', '--kms-key-refresh=15m'])).toMatchObject({
        caches: { kmsKeyRefreshMs: 15 * 60_000 },
      });
      expect(parseCommand(['serve', '--kms-key-refresh', '1h30m'])).toMatchObject({
        caches: { kmsKeyRefreshMs: 90 * 60_000 },
      });
      expect(parseCommand(['serve', '--kms-key-refresh=60s'])).toMatchObject({
        caches: { kmsKeyRefreshMs: 60_000 },
      });
      expect(parseCommand(['serve', '--kms-key-refresh=24h'])).toMatchObject({
        caches: { kmsKeyRefreshMs: 86_400_000 },
      });
    });

    it.each([['59s'], ['0'], ['25h'], ['1d'], ['soon'], ['-1h'], ['']])(
      'refuses %s as a usage error naming the bounds',
      (value) => {
        expect(() => parseCommand(['serve', `--kms-key-refresh=${value}`])).toThrowWithCode(
          'USAGE',
          /--kms-key-refresh must be a duration from 1m to 24h, such as 1h \(the default\) or 15m \(got "/,
        );
      },
    );
  });
  it.each([['--kms-key-refresh=10s'], ['--attestation-cache-bytes=a-lot']])(
    'imagegate serve %s exits 2 before serving, saying what it wants on stderr',
    async (flag) => {
      const run = await imagegate(['serve', flag, '--listen', '127.0.0.1:0']);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/must be a (duration from 1m to 24h|size from 0)/);
    },
  );
});
