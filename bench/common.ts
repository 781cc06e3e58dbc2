/**
 * What several bench scripts share: the reviewed pod's body (padded to a size with environment
 * variables, as real pods carry), CPU deltas, running an in-process section script, and the shape
 * of a table row.
 */
import { execFileSync } from 'node:child_process';

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
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'bench', namespace: 'default', labels: { app: 'bench' } },
    spec: {
      containers: images.map((image, i) => ({
        name: `c${i}`,
        image,
        env: [] as { name: string; value: string }[],
        resources: { requests: { cpu: '100m', memory: '64Mi' } },
      })),
    },
  };
  const wrap = (): string =>
    JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid,
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        namespace: 'default',
        operation: 'CREATE',
        userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
        object: pod,
        dryRun: false,
      },
    });
  // Pad with environment variables, as real pods carry, to the wanted size.
  let n = 0;
  while (wrap().length < targetBytes) {
    const c = pod.spec.containers[n % pod.spec.containers.length]!;
    c.env.push({ name: `SETTING_${n}`, value: 'x'.repeat(80) });
    n++;
  }
  return wrap();
}
