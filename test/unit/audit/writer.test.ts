import { execFile } from 'node:child_process';
import { once, type EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { AuditPolicy, AuditRecord } from '../../../src/audit/record.js';
import {
  AUDIT_MIN_WRITE_BYTES,
  createAuditWriter,
  openAuditDestination,
  toAuditLine,
} from '../../../src/audit/writer.js';

/** Every field of the record, the optional ones included, with strings that need escaping. */
const FULL: AuditRecord = {
  event: 'imagegate.decision',
  uid: 'uid-"quoted"-\\-\n-\u2028-é-🙂',
  operation: 'UPDATE',
  dryRun: true,
  user: 'system:serviceaccount:kube-system:replicaset-controller',
  namespace: 'prod',
  kind: 'Deployment',
  name: 'web\tapp',
  mode: 'audit',
  decision: 'denied',
  wouldDeny: true,
  skipped: 'no image changed',
  images: [
    {
      image: 'registry.example.com/app:1',
      reference: 'registry.example.com/app:1',
      digest: `sha256:${'a'.repeat(64)}`,
      policies: [
        {
          policy: 'strict',
          mode: 'enforce',
          result: 'fail',
          checks: [
            {
              check: 'signature',
              passed: false,
              code: 'NO_SIGNATURES',
              message: 'no signatures found for sha256:… </script> \u0000',
              indeterminate: true,
              details: { signatures: [{ authority: 'ci', tlogEntries: 0, nested: { a: [1, null, true] } }] },
              durationMs: 1.234,
            },
          ],
        },
      ],
    },
    { image: 'quay.io/x:1', reference: 'quay.io/x:1', unmatched: 'audit', policies: [] },
    {
      image: 'quay.io/y:1',
      reference: 'quay.io/y:1',
      unmatched: 'allow',
      exempt: 'strict spec.exclude',
      policies: [],
    },
    { image: 'Not A Reference', invalid: 'invalid reference', policies: [] },
  ],
  imagesOmitted: 7,
  latencyMs: 12.5,
};

/** The minimal record: every optional field absent. */
const MINIMAL: AuditRecord = {
  event: 'imagegate.decision',
  uid: 'u',
  operation: 'DELETE',
  dryRun: false,
  namespace: '',
  kind: 'Pod',
  name: '',
  decision: 'allowed',
  wouldDeny: false,
  images: [],
  latencyMs: 0,
};

/**
 * FULL as reused outcomes give it (evaluate.ts, record.ts): frozen images and policy lists, shared
 * between records (the serialiser keeps their JSON).
 */
const SHARED: AuditRecord = {
  ...FULL,
  images: FULL.images.map((i) =>
    Object.freeze({
      ...i,
      policies: Object.freeze(i.policies.map((p) => Object.freeze(p))) as AuditPolicy[],
    }),
  ),
};

/** What pino wrote for the same record before (the writer's previous implementation). */
function pinoLine(record: AuditRecord): string {
  let out = '';
  const logger = pino({ base: { logger: 'audit' }, messageKey: 'msg' }, { write: (s: string) => (out += s) });
  logger.info(record, 'decision');
  return out;
}

/** Runs `test` with a fresh temporary directory, removed afterwards whatever happens. */
async function inTempDir(test: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'imagegate-audit-'));
  try {
    await test(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('toAuditLine', () => {
  for (const [name, record] of [
    ['with every optional field', FULL],
    ['with no optional field', MINIMAL],
    ['with shared (frozen) policy lists, serialised a second time', SHARED],
  ] as const) {
    if (record === SHARED) toAuditLine(SHARED); // the second line comes from the serialiser's memo
    describe(`for a record ${name}`, () => {
      const line = toAuditLine(record, 1_700_000_000_123);

      it('is one newline-terminated line of JSON', () => {
        expect(line.endsWith('\n')).toBe(true);
        expect(line.slice(0, -1)).not.toContain('\n');
      });

      it('round-trips every field through JSON.parse, with the level, time, logger and msg', () => {
        expect(JSON.parse(line)).toEqual({
          level: 30,
          time: 1_700_000_000_123,
          logger: 'audit',
          ...record,
          msg: 'decision',
        });
      });

      it('holds exactly the bytes JSON.stringify gives for the record', () => {
        const members = JSON.stringify(record).slice(1, -1);
        expect(line).toBe(`{"level":30,"time":1700000000123,"logger":"audit",${members},"msg":"decision"}\n`);
      });

      it('parses to what pino wrote for the same record (key order included)', () => {
        const theirs = JSON.parse(pinoLine(record)) as Record<string, unknown>;
        const ours = JSON.parse(line) as Record<string, unknown>;
        expect(Object.keys(ours)).toEqual(Object.keys(theirs));
        expect({ ...ours, time: 0 }).toEqual({ ...theirs, time: 0 });
      });
    });
  }
});

describe('createAuditWriter', () => {
  it('hands the destination one line per record, at once', () => {
    const lines: string[] = [];
    const writer = createAuditWriter({ write: (s: string) => void lines.push(s) });
    writer.write(MINIMAL);
    writer.write(FULL);
    expect(lines).toHaveLength(2);
    expect((JSON.parse(lines[1]!) as AuditRecord).uid).toBe(FULL.uid);
  });

  describe('on the production destination (batched)', () => {
    /** The destination once its file is open (flush() before that has nothing to flush). */
    async function opened(file: string) {
      const dest = openAuditDestination(file);
      await once(dest as unknown as EventEmitter, 'ready');
      return dest;
    }

    it('writes every record to the file by flush()', async () => {
      await inTempDir(async (dir) => {
        const file = join(dir, 'sub', 'audit.log');
        const writer = createAuditWriter(await opened(file));
        for (let i = 0; i < 500; i++) writer.write({ ...MINIMAL, uid: `u-${i}` });
        await writer.flush();
        const uids = (await readFile(file, 'utf8'))
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as AuditRecord).uid);
        expect(uids).toEqual(Array.from({ length: 500 }, (_, i) => `u-${i}`));
      });
    });

    it(`holds lines until ${AUDIT_MIN_WRITE_BYTES} bytes are pending, then writes them all at once`, async () => {
      await inTempDir(async (dir) => {
        const file = join(dir, 'audit.log');
        const dest = await opened(file);
        const line = toAuditLine(MINIMAL, 1);
        const below = Math.floor((AUDIT_MIN_WRITE_BYTES - 1) / line.length);
        // synchronous from here: the flush timer cannot run in between
        for (let i = 0; i < below; i++) dest.write(line);
        expect(readFileSync(file, 'utf8')).toBe('');
        dest.write(line); // crosses the threshold
        expect(readFileSync(file, 'utf8')).toBe(line.repeat(below + 1));
      });
    });

    it('writes non-ASCII lines byte for byte (each batch encoded once into a buffer)', async () => {
      await inTempDir(async (dir) => {
        const file = join(dir, 'audit.log');
        const writer = createAuditWriter(await opened(file));
        // 3-byte characters, a 4-byte one (a surrogate pair) and a lone surrogate (written as U+FFFD,
        // as a string write would), enough of them to cross the write threshold more than once
        const names = Array.from({ length: 300 }, (_, i) => `pod-日本-${i}-😀-\ud800`);
        for (const name of names) writer.write({ ...MINIMAL, name });
        await writer.flush();
        const expected = names.map((name) => toAuditLine({ ...MINIMAL, name }, 0).replace(/"time":0/, ''));
        const written = (await readFile(file, 'utf8'))
          .trimEnd()
          .split('\n')
          .map((l) => `${l.replace(/"time":\d+/, '')}\n`);
        expect(written).toEqual(expected.map((l) => Buffer.from(l).toString('utf8')));
      });
    });

    it('writes a lone record within the flush period, without flush()', async () => {
      await inTempDir(async (dir) => {
        const file = join(dir, 'audit.log');
        const writer = createAuditWriter(await opened(file));
        writer.write(MINIMAL);
        await expect.poll(() => readFile(file, 'utf8'), { timeout: 5000 }).not.toBe('');
        expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject(MINIMAL);
      });
    });
    it('writes what is pending when the process exits without flush()', async () => {
      await inTempDir(async (dir) => {
        const file = join(dir, 'audit.log');
        const writer = new URL('../../../src/audit/writer.ts', import.meta.url).href;
        const script = `import { createAuditWriter, openAuditDestination } from ${JSON.stringify(writer)};
        const w = createAuditWriter(openAuditDestination(${JSON.stringify(file)}));
        w.write(${JSON.stringify(MINIMAL)});
        process.exit(0);`;
        await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]);
        expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject(MINIMAL);
      });
    });
  });
});
