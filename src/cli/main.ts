#!/usr/bin/env node
/** The imagegate process: the only file that reads argv and decides the exit code. */
import { pino } from 'pino';
import { ImagegateError, errorMessage } from '../errors.js';
import { parseCommand, USAGE } from './args.js';
import { runAudit } from './audit.js';
import { runCheck } from './check.js';
import { runReview } from './review.js';
import { runServe } from './serve.js';

const VERSION = '0.1.0';

async function main(argv: readonly string[]): Promise<number> {
  let cmd;
  try {
    cmd = parseCommand(argv);
  } catch (err) {
    process.stderr.write(`imagegate: ${errorMessage(err)}\n`);
    return 2;
  }
  if (cmd.command === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (cmd.command === 'version') {
    process.stdout.write(`imagegate ${VERSION}\n`);
    return 0;
  }
  // serve logs to stdout (collected by the cluster); check/review keep stdout for their result.
  const logger = pino(
    {
      level: cmd.common.logLevel,
      base: { service: 'imagegate' },
      redact: {
        paths: ['req.headers.authorization', '*.password', '*.token', '*.auth'],
        censor: '[redacted]',
      },
    },
    pino.destination({ dest: cmd.command === 'serve' ? 1 : 2, sync: cmd.command !== 'serve' }),
  );
  try {
    switch (cmd.command) {
      case 'serve':
        return await runServe(cmd, logger);
      case 'check':
        return await runCheck(cmd, logger);
      case 'review':
        return await runReview(cmd, logger);
      case 'audit':
        return await runAudit(cmd, logger);
    }
  } catch (err) {
    if (err instanceof ImagegateError) {
      logger.flush();
      process.stderr.write(`imagegate: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      `imagegate: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 2;
  },
);
