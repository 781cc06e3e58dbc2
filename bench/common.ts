/**
 * What several bench scripts share: the reviewed pod's body (padded to a size with environment
 * variables, as real pods carry), CPU deltas, running an in-process section script, and the shape
 * of a table row.
 */
import { execFileSync } from 'node:child_process';
import { podReview } from '../test/helpers/admission-fixtures.js';

/** One row of the bench table; `why` says what bounds a missed goal, from the run's own figures. */
export type Row = (
  figure: string,
  value: string,
  baseline: string,
  ratio: number,
  target: string,
  met: boolean,
  why?: string,
) => void;

/** Microseconds of CPU (user + system) between two process.cpuUsage() readings. */
export function cpuMicros(a: NodeJS.CpuUsage, b: NodeJS.CpuUsage): number {
  return b.user - a.user + (b.system - a.system);
}

/** Runs a bench script in its own node (under tsx) and parses the one JSON line it prints. */
export function runScript<T>(file: string, args: readonly string[], nodeArgs: readonly string[] = []): T {
  const out = execFileSync(process.execPath, [...nodeArgs, '--import', 'tsx', file, ...args], {
    encoding: 'utf8',
  });
  return JSON.parse(out) as T;
}

/** An AdmissionReview (CREATE, Pod) naming `images`, padded to at least `targetBytes`. */
export function podReviewBody(images: readonly string[], targetBytes = 0, uid = 'bench'): string {
  const review = podReview(images, {
    uid,
    name: 'bench',
    user: 'system:serviceaccount:kube-system:replicaset-controller',
    dryRun: false,
  });
  // podReview's object is typed loosely (Record<string, unknown>); its containers are plain objects.
  const { containers } = (review.request.object as { spec: { containers: { env?: EnvVar[] }[] } }).spec;
  // Pad with environment variables, as real pods carry, to the wanted size.
  for (let n = 0; JSON.stringify(review).length < targetBytes; n++) {
    const c = containers[n % containers.length]!;
    (c.env ??= []).push({ name: `SETTING_${n}`, value: 'x'.repeat(80) });
  }
  return JSON.stringify(review);
}

interface EnvVar {
  name: string;
  value: string;
}
