/** CPU or allocation profiles of a part of bench/cold-cpu-child.mjs, through the inspector. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

/** BENCH_PROFILE=alloc: sampled allocations, collected ones included (a .heapprofile), not CPU. */
const ALLOC = process.env.BENCH_PROFILE_ALLOC === '1';

/** BENCH_PROFILE_DIR: a CPU profile of the measured pods only (not the warm-up), through the inspector. */
export async function startProfile() {
  if (process.env.BENCH_PROFILE_DIR === undefined) return undefined;
  const session = new Session();
  session.connect();
  if (ALLOC) {
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    return session;
  }
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', {
    interval: Number(process.env.BENCH_PROFILE_US ?? 500),
  });
  await session.post('Profiler.start');
  return session;
}

export async function stopProfile(session, kind) {
  if (session === undefined) return;
  const { profile } = await session.post(ALLOC ? 'HeapProfiler.stopSampling' : 'Profiler.stop');
  const dir = process.env.BENCH_PROFILE_DIR;
  mkdirSync(dir, { recursive: true });
  const file = `cold-cpu-${kind}.${ALLOC ? 'heapprofile' : 'cpuprofile'}`;
  writeFileSync(join(dir, file), JSON.stringify(profile));
  session.disconnect();
}
