/**
 * Issue 26 goal 3 (20 images ≤ 1.3 × 1 image) on the bench's own registry: the floor a pod of N cold
 * images has there whatever imagegate does, measured in the same run (bare undici making the same
 * requests in the same order, in the server's process: bench/bare-pod.mjs), and the registry
 * process's own CPU per request (docker-registry shares the machine's cores with imagegate).
 */
import { readFileSync } from 'node:fs';

/** CPU milliseconds (user + system) a process has used, from /proc (Linux); undefined elsewhere. */
export function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    // utime and stime, in clock ticks (100 per second on Linux)
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

export interface PodFloor {
  /** Median milliseconds of bare undici's pods of 1 and 20 images. */
  bareOneMs: number;
  bareTwentyMs: number;
  /** imagegate's medians, same run. */
  oneMs: number;
  twentyMs: number;
  /** imagegate's server CPU per image (µs) in the 1- and 20-image pods. */
  cpuOne: number;
  cpuTwenty: number;
  /** The registry process's CPU per registry request (ms) over imagegate's 20-image pods, if known. */
  registryMsPerRequest: number | undefined;
  /**
   * The Node fault proxy's CPU per request (ms), in front of the registry in the bench's own process
   * (measured over bare undici's pods, when that process runs nothing else), if known.
   */
  proxyMsPerRequest?: number | undefined;
}

/** The goal-3 row's why: what bounds a 20-image pod, from the same run's figures. */
export function goalThreeWhy(f: PodFloor): string {
  const allowed = (1.3 * f.oneMs - (f.oneMs - f.cpuOne / 1000)) / 20;
  const proxy = f.proxyMsPerRequest;
  const both = (f.registryMsPerRequest ?? 0) + (proxy ?? 0);
  const registry =
    f.registryMsPerRequest === undefined
      ? ''
      : `; the registry spends ${f.registryMsPerRequest.toFixed(2)} ms of CPU per request` +
        (proxy === undefined
          ? ` (${(f.registryMsPerRequest * 80).toFixed(0)} ms per 20-image pod)`
          : ` and the Node fault proxy in front of it ${proxy.toFixed(2)} ms (together ` +
            `${(both * 80).toFixed(0)} ms per 20-image pod)`) +
        ' on the same cores';
  return (
    `floor: bare undici making the same requests takes ${f.bareTwentyMs.toFixed(1)} ms for 20 images, ` +
    `${f.bareOneMs.toFixed(1)} ms for 1 (${(f.bareTwentyMs / f.bareOneMs).toFixed(2)}×)${registry}; ` +
    `imagegate adds ${(f.twentyMs - f.bareTwentyMs).toFixed(1)} ms to it at 20 images, with ` +
    `20 × ${(f.cpuTwenty / 1000).toFixed(2)} ms = ${((f.cpuTwenty * 20) / 1000).toFixed(0)} ms of CPU ` +
    `on one thread (${allowed.toFixed(2)} ms per image would fit 1.3 × ${f.oneMs.toFixed(1)} ms)`
  );
}
