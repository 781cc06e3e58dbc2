/**
 * The audit writer: one JSON line per decision on an injectable destination, so tests read the JSON
 * lines and production sends them to stdout or their own file.
 *
 * The line is the one pino wrote before (`{"level":30,"time":…,"logger":"audit",…record,"msg":
 * "decision"}`), serialised here directly: the record is built from keys we control (record.ts), so
 * pino's per-key loop, serialisers and child bindings were pure overhead on every decision (see
 * docs/benchmarks.md). The production destination batches lines into few writes (openAuditDestination).
 */
import { pino, type DestinationStream } from 'pino';
import { auditRecordMembers } from './json.js';
import type { AuditRecord } from './record.js';

export interface AuditWriter {
  write(record: AuditRecord): void;
  /** Flush buffered records (SIGTERM). */
  flush(): Promise<void>;
}

/** pino's numeric level for `info`, kept so log shippers and existing queries still match. */
const INFO = 30;
const HEAD = `{"level":${INFO},"time":`;
const LOGGER = ',"logger":"audit",';
const TAIL = ',"msg":"decision"}\n';

/**
 * One audit line, newline-terminated: pino's shape for `logger.info(record, 'decision')` with
 * `base: { logger: 'audit' }`: the record's members (json.ts, byte for byte JSON.stringify's) spliced
 * between the fixed head and tail.
 */
export function toAuditLine(record: AuditRecord, time = Date.now()): string {
  return `${HEAD}${time}${LOGGER}${auditRecordMembers(record)}${TAIL}`;
}

/** Bytes buffered before a write; a quieter server writes at least every AUDIT_FLUSH_MS. */
export const AUDIT_MIN_WRITE_BYTES = 8192;
export const AUDIT_FLUSH_MS = 50;

/**
 * The production destination (stdout, or `--audit-log FILE`): batched, synchronous writes. One
 * write(2) per decision, handed to libuv's thread pool as pino's asynchronous destination does, was
 * the largest single item of a cached decision's CPU (and, with the worker thread waking on a busy
 * core, of its latency). Here lines collect until 8 KiB are pending, then go out in one write on
 * the event loop's thread (as pino's default stdout logger writes); a quieter server writes at least
 * every AUDIT_FLUSH_MS. What is pending is written at process exit, and by flush() on SIGTERM.
 *
 * The lines are collected here, in an array joined once per write, rather than by sonic-boom's own
 * `minLength`: sonic-boom measures the UTF-8 length of each line and of everything pending on every
 * write, about a third of an audit line's cost at load. sonic-boom still does the writing (partial
 * writes, EAGAIN on a pipe, reopening).
 */
export function openAuditDestination(dest: string | number = 1): DestinationStream {
  const stream = pino.destination({
    dest,
    sync: true,
    ...(typeof dest === 'string' ? { mkdir: true } : {}),
  });
  let lines: string[] = [];
  let pending = 0;
  const writeLines = (): void => {
    if (lines.length === 0) return;
    const text = lines.length === 1 ? lines[0]! : lines.join('');
    lines = [];
    pending = 0;
    write(text);
  };
  const write = stream.write.bind(stream);
  const flush = stream.flush.bind(stream);
  const flushSync = stream.flushSync.bind(stream);
  // The stream stays the caller's handle (its events, end, destroy); only these three change.
  stream.write = (line: string): boolean => {
    lines.push(line);
    pending += line.length;
    if (pending >= AUDIT_MIN_WRITE_BYTES) writeLines();
    return true;
  };
  stream.flush = (cb?: (err?: Error) => void): void => {
    writeLines();
    flush(cb);
  };
  stream.flushSync = (): void => {
    writeLines();
    flushSync();
  };
  const timer = setInterval(() => {
    try {
      writeLines();
    } catch {
      // Destroyed: nothing can be written any more (and a timer must not throw).
    }
  }, AUDIT_FLUSH_MS);
  timer.unref();
  stream.once('close', () => clearInterval(timer));
  const ref = new WeakRef(stream);
  // pino flushes only asynchronous destinations at exit: write what is pending here (a weak
  // reference, so a closed destination is not kept alive by the listener).
  process.once('exit', () => {
    try {
      ref.deref()?.flushSync();
    } catch {
      // Destroyed or never opened: nothing can be written any more.
    }
  });
  return stream;
}

export function createAuditWriter(destination?: DestinationStream): AuditWriter {
  const dest = destination ?? openAuditDestination(1);
  return {
    write(record) {
      dest.write(toAuditLine(record));
    },
    flush() {
      return new Promise((resolve) => {
        const d = dest as {
          flush?: (cb: (err?: Error) => void) => void;
          flushSync?: () => void;
        };
        if (typeof d.flush !== 'function') return resolve();
        try {
          d.flush(() => {
            // The callback runs when the write in flight ends; lines collected meanwhile (the batching
            // destination holds up to AUDIT_MIN_WRITE_BYTES) go out synchronously now.
            try {
              d.flushSync?.();
            } catch {
              // Destroyed or not open: nothing more can be written.
            }
            resolve();
          });
        } catch {
          // A destination that cannot flush (e.g. not yet open) has nothing buffered for us.
          resolve();
        }
      });
    },
  };
}
