import { describe, expect, it } from 'vitest';
import { USAGE } from '../../../src/cli/args.js';
import { imagegate } from '../../helpers/cli.js';

describe('imagegate COMMAND --help', () => {
  it.each([
    [
      'check',
      ['--output text|json', '--namespace NAME', '--as REF'],
      ['--listen', '--tls-cert', '--audit-log'],
    ],
    [
      'serve',
      ['--listen HOST:PORT', '--tls-cert', '--watch-policies', '--audit-log'],
      ['--output', '--as REF'],
    ],
    ['review', ['FILE|-'], ['--listen', '--output']],
  ] as const)('%s prints its own usage and options, and returns 0', async (command, own, others) => {
    for (const argv of [
      [command, '--help'],
      [command, '-h'],
      ['help', command],
      [command, '--policy', 'x', '--help'],
    ]) {
      const run = await imagegate(argv);
      expect(run.code, argv.join(' ')).toBe(0);
      expect(run.stderr).toBe('');
      expect(run.stdout.startsWith(`Usage: imagegate ${command}`)).toBe(true);
      for (const o of own) expect(run.stdout).toContain(o);
      for (const o of others) expect(run.stdout).not.toContain(o);
      expect(run.stdout).toContain('--unmatched allow|audit|deny');
    }
  });

  it('imagegate --help still lists every command', async () => {
    const run = await imagegate(['--help']);
    expect(run.stdout).toBe(USAGE);
    for (const c of ['imagegate serve', 'imagegate check', 'imagegate review', 'imagegate COMMAND --help'])
      expect(run.stdout).toContain(c);
  });
});
