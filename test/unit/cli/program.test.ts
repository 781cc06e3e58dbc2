import { describe, expect, it } from 'vitest';
import { USAGE } from '../../../src/cli/args.js';
import { imagegate } from '../../helpers/cli.js';

describe('main(argv, io)', () => {
  describe('--help', () => {
    it('prints the usage on stdout and returns 0', async () => {
      const run = await imagegate(['--help']);
      expect(run).toMatchObject({ code: 0, stdout: USAGE, stderr: '' });
    });
  });

  describe('--version', () => {
    it('prints the version and returns 0', async () => {
      const run = await imagegate(['--version']);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^imagegate \d+\.\d+\.\d+\n$/);
    });
  });

  describe('when the command is unknown', () => {
    it('says so on stderr and returns 2, printing nothing on stdout', async () => {
      const run = await imagegate(['frobnicate']);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/^imagegate: .*frobnicate/);
    });
  });
});
