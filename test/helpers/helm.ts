/** Runs the real helm binary (scripts/setup-test-deps.sh puts it in .tools/bin) and parses its output. */
import { spawnSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import { CHART, HELM } from '../../scripts/render-manifests.js';
import type { K8sObject } from './k8s.js';

export interface HelmResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function runHelm(args: string[]): HelmResult {
  const r = spawnSync(HELM, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error !== undefined)
    throw new Error(`cannot run ${HELM} (run scripts/setup-test-deps.sh): ${r.error.message}`);
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export interface Rendered {
  objects: K8sObject[];
  one(kind: string, name?: string): K8sObject;
  all(kind: string): K8sObject[];
}

/** `helm template` of the chart in namespace `imagegate`, release `ig`; throws with helm's stderr on failure. */
/** `helm template` of the chart as it answers, for renders that must fail (a values schema, a `fail`). */
export function tryHelmTemplate(args: string[], release = 'ig', namespace = 'imagegate'): HelmResult {
  return runHelm(['template', release, CHART, '--namespace', namespace, ...args]);
}

export function helmTemplate(args: string[] = [], release = 'ig', namespace = 'imagegate'): Rendered {
  const r = tryHelmTemplate(args, release, namespace);
  if (r.status !== 0) throw new Error(`helm template failed:\n${r.stderr}`);
  const objects = parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
  const all = (kind: string) => objects.filter((o) => o.kind === kind);
  return {
    objects,
    all,
    one(kind, name) {
      const found = all(kind).filter((o) => name === undefined || o.metadata?.name === name);
      if (found.length !== 1)
        throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
      return found[0]!;
    },
  };
}
