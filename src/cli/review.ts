/** `imagegate review FILE|-`: replay a saved AdmissionReview and print the response review. */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { parseAdmissionReview } from '../admission/parse.js';
import type { Engine } from '../engine.js';
import { AdmissionError, ConfigError, errorMessage } from '../errors.js';
import { reviewAdmission } from '../review.js';
import { budgetFor, DEFAULT_TIMEOUT_MS, forManyListeners } from '../server/deadline.js';
import type { Command } from './args.js';
import { setupEngine } from './setup.js';

const MAX_INPUT_BYTES = 3 * 1024 * 1024;

async function readInput(file: string): Promise<string> {
  if (file !== '-') {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw new ConfigError('USAGE', `cannot read ${file}: ${errorMessage(err)}`);
    }
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > MAX_INPUT_BYTES)
      throw new ConfigError('USAGE', `standard input is larger than ${MAX_INPUT_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function runReview(
  cmd: Extract<Command, { command: 'review' }>,
  logger: Logger,
): Promise<number> {
  const { engine, registry } = await setupEngine(cmd.common, logger);
  try {
    return await reviewFile(cmd, engine, logger);
  } finally {
    await registry.close();
  }
}

async function reviewFile(
  cmd: Extract<Command, { command: 'review' }>,
  engine: Engine,
  logger: Logger,
): Promise<number> {
  const text = await readInput(cmd.file);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    process.stdout.write(
      `${JSON.stringify({ error: { code: 'BODY_NOT_JSON', message: `not valid JSON: ${errorMessage(err)}` } })}\n`,
    );
    return 2;
  }
  try {
    const review = parseAdmissionReview(body);
    const budget = budgetFor(DEFAULT_TIMEOUT_MS);
    const result = await reviewAdmission(
      review,
      engine,
      forManyListeners(AbortSignal.timeout(budget)),
      Date.now() + budget,
    );
    logger.info(result.record, 'decision');
    process.stdout.write(`${JSON.stringify(result.response, null, 2)}\n`);
    return result.response.response.allowed ? 0 : 1;
  } catch (err) {
    if (err instanceof AdmissionError) {
      process.stdout.write(`${JSON.stringify({ error: { code: err.code, message: err.message } })}\n`);
      return 2;
    }
    throw err;
  }
}
