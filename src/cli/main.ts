#!/usr/bin/env node
/** The imagegate process: the only file that reads process.argv and sets the exit code. */
import { processIo } from './io.js';
import { main } from './program.js';

main(process.argv.slice(2), processIo()).then(
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
