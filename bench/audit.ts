/**
 * The audit record's own cost per decision, run as `node --import tsx bench/audit.ts [records]`:
 * serialise and write N records shaped like the cached bench's (a pod of two key-signed images),
 * one per event-loop turn as separate requests would, to /dev/null. Compared with what the writer
 * did before (pino's `logger.info(record)` on an asynchronous pino.destination, one write per
 * record). CPU is process.cpuUsage (all threads: libuv's pool did the asynchronous writes).
 */
import { pino } from 'pino';
import type { AuditRecord } from '../src/audit/record.js';
import { createAuditWriter, openAuditDestination } from '../src/audit/writer.js';

const N = Number(process.argv[2] ?? 20_000);
const digest = (c: string): string => `sha256:${c.repeat(64)}`;

function record(i: number): AuditRecord {
  const image = (name: string): AuditRecord['images'][number] => {
    const ref = `127.0.0.1:5000/cached/${name}@${digest('a')}`;
    return {
      image: ref,
      reference: ref,
      digest: digest('a'),
      policies: [
        {
          policy: 'bench',
          mode: 'enforce',
          result: 'pass',
          checks: [
            {
              check: 'signature',
              passed: true,
              code: 'OK',
              message: `${ref}: ${digest('a')} signed by "release"`,
              details: {
                signatures: [
                  {
                    authority: 'release',
                    digest: digest('a'),
                    source: `tag sha256-${'a'.repeat(64)}.sig layer 1`,
                    format: 'cosign-legacy',
                    keyId: 'SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
                    tlogEntries: 0,
                  },
                ],
                attestations: [],
              },
              durationMs: 0.021,
            },
          ],
        },
      ],
    };
  };
  return {
    event: 'imagegate.decision',
    uid: `bench-${i}`,
    operation: 'CREATE',
    dryRun: false,
    user: 'system:serviceaccount:kube-system:replicaset-controller',
    namespace: 'default',
    kind: 'Pod',
    name: 'bench',
    decision: 'allowed',
    wouldDeny: false,
    images: [image('app'), image('sidecar')],
    latencyMs: 0.412,
  };
}

const records = Array.from({ length: 512 }, (_, i) => record(i));
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

async function measure(write: (r: AuditRecord) => void, flush: () => Promise<void>): Promise<number> {
  for (let i = 0; i < 2000; i++) write(records[i % records.length]!); // warm-up (JIT)
  await flush();
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    write(records[i % records.length]!);
    await turn();
  }
  await flush();
  const c = process.cpuUsage(c0);
  // The same loop without writing: the event-loop turns are not the audit record's cost.
  const e0 = process.cpuUsage();
  for (let i = 0; i < N; i++) await turn();
  const e = process.cpuUsage(e0);
  return (c.user + c.system - (e.user + e.system)) / N;
}

const before = pino(
  { base: { logger: 'audit' }, messageKey: 'msg' },
  pino.destination({ dest: '/dev/null', sync: false }),
);
const pinoMicros = await measure(
  (r) => before.info(r, 'decision'),
  () => new Promise((r) => setTimeout(r, 50)),
);
const writer = createAuditWriter(openAuditDestination('/dev/null'));
const writerMicros = await measure(
  (r) => writer.write(r),
  () => writer.flush(),
);
const bytes = JSON.stringify(records[0]).length;
process.stdout.write(`${JSON.stringify({ records: N, bytesPerRecord: bytes, pinoMicros, writerMicros })}\n`);
