/**
 * `main(argv, io)`: the whole CLI as a function of its arguments and its io; it returns the exit code
 * (0 allowed/ok, 1 denied, 2 usage or configuration error) and never exits the process itself.
 */
import { pino, type DestinationStream } from 'pino';
import { ImagegateError, errorMessage } from '../errors.js';
import { parseCommand, USAGE } from './args.js';
import { runAudit } from './audit.js';
import { runCheck } from './check.js';
import type { CliIo } from './io.js';
import { runReviewCommand } from './review.js';
import { runServe } from './serve.js';
import { commandUsage } from './usage.js';

const VERSION = '0.1.0';

/** A pino destination over an io stream (process streams get pino's own fast destination). */
function destinationOf(io: CliIo, stream: 'stdout' | 'stderr', sync: boolean): DestinationStream {
  const target = io[stream];
  if (target === process.stdout || target === process.stderr) {
    return pino.destination({ dest: stream === 'stdout' ? 1 : 2, sync });
  }
  return { write: (line: string) => void target.write(line) };
}

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let cmd;
  try {
    cmd = parseCommand(argv);
  } catch (err) {
    io.stderr.write(`imagegate: ${errorMessage(err)}\n`);
    return 2;
  }
  if (cmd.command === 'help') {
    io.stdout.write(cmd.topic !== undefined ? commandUsage(cmd.topic) : USAGE);
    return 0;
  }
  if (cmd.command === 'version') {
    io.stdout.write(`imagegate ${VERSION}\n`);
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
    destinationOf(io, cmd.command === 'serve' ? 'stdout' : 'stderr', cmd.command !== 'serve'),
  );
  try {
    switch (cmd.command) {
      case 'serve':
        return await runServe(cmd, logger, io);
      case 'check':
        return await runCheck(cmd, logger, io);
      case 'review':
        return await runReviewCommand(cmd, logger, io);
      case 'audit':
        return await runAudit(cmd, logger, io);
    }
  } catch (err) {
    if (err instanceof ImagegateError) {
      logger.flush();
      io.stderr.write(`imagegate: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
