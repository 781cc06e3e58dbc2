/** `imagegate review FILE|-`: replay a saved AdmissionReview and print the response review. */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Engine } from '../evaluate/engine.js';
import { AdmissionError, ConfigError, errorMessage } from '../errors.js';
import { DeadlineWatch, runReview, validateRequest } from '../review/index.js';
import type { Command } from './args.js';
import type { CliIo } from './io.js';
import { setupEngine } from './setup.js';

const MAX_INPUT_BYTES = 3 * 1024 * 1024;

async function readInput(file: string, stdin: CliIo['stdin']): Promise<string> {
  if (file !== '-') {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw new ConfigError('USAGE', `cannot read ${file}: ${errorMessage(err)}`);
    }
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += bytes.length;
    if (size > MAX_INPUT_BYTES)
      throw new ConfigError('USAGE', `standard input is larger than ${MAX_INPUT_BYTES} bytes`);
    chunks.push(bytes);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function runReviewCommand(
  cmd: Extract<Command, { command: 'review' }>,
  logger: Logger,
  io: CliIo,
): Promise<number> {
  const { engine, registry } = await setupEngine(cmd.common, logger, { env: io.env, kms: { env: io.env } });
  try {
    return await reviewFile(cmd, engine, logger, io);
  } finally {
    await registry.close();
  }
}

/** The same review as the webhook's /validate (deadline, fallback, record), printed instead of sent. */
async function reviewFile(
  cmd: Extract<Command, { command: 'review' }>,
  engine: Engine,
  logger: Logger,
  io: CliIo,
): Promise<number> {
  const text = await readInput(cmd.file, io.stdin);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    io.stdout.write(
      `${JSON.stringify({ error: { code: 'BODY_NOT_JSON', message: `not valid JSON: ${errorMessage(err)}` } })}\n`,
    );
    return 2;
  }
  try {
    const result = await runReview(body, {
      engine,
      handler: validateRequest,
      mayDeny: true,
      audit: { write: (record) => logger.info(record, 'decision') },
      deadlines: new DeadlineWatch(),
    });
    io.stdout.write(`${JSON.stringify(result.response, null, 2)}\n`);
    return result.response.response.allowed ? 0 : 1;
  } catch (err) {
    if (err instanceof AdmissionError) {
      io.stdout.write(`${JSON.stringify({ error: { code: err.code, message: err.message } })}\n`);
      return 2;
    }
    throw err;
  }
}
