/**
 * Admission cost as the API server sees it (issue 22, item 7): the real kube-apiserver and
 * kube-controller-manager of scripts/test-cluster.sh, three namespaces in one run:
 *  - `plain`: no webhook is called (the baseline);
 *  - `bare`: a bare Fastify webhook that parses the review and allows (what any webhook costs);
 *  - `imagegate`: imagegate serve with the bench's key policy, verdicts cached (a warm image).
 * Both webhooks are registered with the chart's own ValidatingWebhookConfiguration (helm template),
 * each narrowed to its namespace by a label. Figures: N pods created by a client with C requests in
 * flight, and a Deployment of 50 replicas until the controller manager has created all 50 pods,
 * alternating namespaces per trial; the median trial's ratio is reported.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { pushImage } from '../test/helpers/signed-images.js';
import { pushSignedImage } from '../test/helpers/signed-images.js';
import type { BenchContext } from './context.js';
import { must, startLocalCluster, until, type KubeClient } from './kube-client.js';
import { percentile } from './load.js';
import { medianBy, SCALE, TRIALS } from './settings.js';

const NAMESPACES = ['plain', 'bare', 'imagegate'] as const;
type Ns = (typeof NAMESPACES)[number];
const LABEL = 'imagegate-bench/webhook';
const IN_FLIGHT = 8;
const REPLICAS = 50;

const nsName = (ns: Ns): string => `bench-${ns}`;

function pod(name: string, image: string): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'bench' } },
    spec: { containers: [{ name: 'app', image }] },
  };
}

function deployment(name: string, image: string): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas: REPLICAS,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image }] } },
    },
  };
}

/** The chart's webhook configuration for a webhook at `url`, called only for namespaces labelled `ns`. */
async function chartWebhook(root: string, work: string, url: string, ca: string, ns: Ns): Promise<unknown> {
  const values = join(work, `values-${ns}.yaml`);
  const caLines = ca
    .trim()
    .split('\n')
    .map((l) => `      ${l}`);
  await writeFile(
    values,
    [
      'mode: enforce',
      'webhook:',
      `  url: ${url}`,
      '  namespaceSelector:',
      '    matchExpressions:',
      `      - { key: ${LABEL}, operator: In, values: [${ns}] }`,
      'tls:',
      '  existingSecret:',
      '    name: unused',
      '    caBundle: |',
      ...caLines,
      '',
    ].join('\n'),
  );
  const helm = join(root, '.tools', 'bin', 'helm');
  const out = execFileSync(
    helm,
    ['template', `bench-${ns}`, join(root, 'charts', 'imagegate'), '-f', values],
    {
      encoding: 'utf8',
    },
  );
  const doc = parseAllDocuments(out)
    .map((d) => d.toJS() as { kind?: string } | null)
    .find((d) => d?.kind === 'ValidatingWebhookConfiguration');
  if (doc === undefined || doc === null)
    throw new Error('helm template rendered no ValidatingWebhookConfiguration');
  return doc;
}

interface PodsTrial {
  ns: Ns;
  ms: number;
  p50: number;
  p99: number;
  refused: number;
}

/** Creates `count` pods in `ns`, IN_FLIGHT at a time; wall time and per-request latency. */
async function createPods(
  client: KubeClient,
  ns: Ns,
  prefix: string,
  count: number,
  image: string,
): Promise<PodsTrial> {
  const latencies: number[] = [];
  let next = 0;
  let refused = 0;
  const start = performance.now();
  const worker = async (): Promise<void> => {
    for (let i = next++; i < count; i = next++) {
      const t = performance.now();
      const a = await client.call(
        'POST',
        `/api/v1/namespaces/${nsName(ns)}/pods`,
        pod(`${prefix}-${i}`, image),
      );
      latencies.push(performance.now() - t);
      if (a.status !== 201) refused++;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const ms = performance.now() - start;
  latencies.sort((a, b) => a - b);
  return { ns, ms, p50: percentile(latencies, 50), p99: percentile(latencies, 99), refused };
}

/** Creates a Deployment of REPLICAS in `ns` and waits until the controller manager made every pod. */
async function rollOut(client: KubeClient, ns: Ns, name: string, image: string): Promise<number> {
  const start = performance.now();
  await must(client, 'POST', `/apis/apps/v1/namespaces/${nsName(ns)}/deployments`, deployment(name, image));
  await until(
    `${REPLICAS} pods of ${nsName(ns)}/${name}`,
    async () => {
      const list = await must(
        client,
        'GET',
        `/api/v1/namespaces/${nsName(ns)}/pods?labelSelector=app%3D${name}`,
      );
      return (list.items as unknown[]).length >= REPLICAS ? true : undefined;
    },
    120_000,
    25,
  );
  return performance.now() - start;
}

export async function admissionCostSection(ctx: BenchContext, root: string): Promise<void> {
  const { seeder, key, proxy, child, row, results } = ctx;
  process.stderr.write('admission cost through the real API server\n');
  const work = await mkdtemp(join(tmpdir(), 'imagegate-bench-cluster-'));
  const cluster = startLocalCluster(root, join(work, 'cluster'));
  if ('unavailable' in cluster) {
    // A machine without Go: the rest of the bench still runs; the table says why this one did not.
    process.stderr.write(`  skipped: ${cluster.unavailable}\n`);
    results.admission = { skipped: cluster.unavailable };
    await rm(work, { recursive: true, force: true });
    return;
  }
  const { client } = cluster;
  try {
    const registry = await proxy(0);
    const image = `${registry.host}/admission/app@${await pushSignedImage(seeder, registry.host, 'admission/app', key)}`;
    const unsigned = `${registry.host}/admission/unsigned@${(await pushImage(seeder, 'admission/unsigned')).digest}`;
    const bare = await child({ kind: 'baseline' });
    const imagegate = await child({ kind: 'imagegate', policy: ctx.policy, registry: registry.host });
    for (const ns of NAMESPACES) {
      await must(client, 'POST', '/api/v1/namespaces', {
        metadata: { name: nsName(ns), labels: { [LABEL]: ns } },
      });
      // The ServiceAccount admission plugin refuses pods until the namespace's default account exists.
      await until(`the default ServiceAccount of ${nsName(ns)}`, async () =>
        (await client.call('GET', `/api/v1/namespaces/${nsName(ns)}/serviceaccounts/default`)).status === 200
          ? true
          : undefined,
      );
    }
    for (const [ns, server] of [
      ['bare', bare],
      ['imagegate', imagegate],
    ] as const) {
      const config = (await chartWebhook(root, work, server.url, ctx.ca, ns)) as {
        metadata: { name: string };
      };
      await must(
        client,
        'POST',
        '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations',
        config,
      );
    }
    // Registered once imagegate refuses an unsigned pod (a dry run: nothing is stored).
    await until('the imagegate webhook to be called', async () => {
      const a = await client.call(
        'POST',
        `/api/v1/namespaces/${nsName('imagegate')}/pods?dryRun=All`,
        pod('probe', unsigned),
      );
      return a.status === 403 ? true : undefined;
    });
    // Warm: the image's verdict cached, connections open, V8 tiered up on every path.
    for (const ns of NAMESPACES) await createPods(client, ns, 'warm', 40, image);

    const count = Math.max(20, Math.round(200 * SCALE));
    const podTrials: Record<Ns, PodsTrial>[] = [];
    const rollTrials: Record<Ns, number>[] = [];
    for (let t = 0; t < TRIALS; t++) {
      // Rotate the order so no namespace always runs first (etcd compaction, GC, a neighbour's load).
      const order = [...NAMESPACES.slice(t % 3), ...NAMESPACES.slice(0, t % 3)];
      const p = {} as Record<Ns, PodsTrial>;
      for (const ns of order) p[ns] = await createPods(client, ns, `t${t}`, count, image);
      podTrials.push(p);
      const r = {} as Record<Ns, number>;
      for (const ns of order) r[ns] = await rollOut(client, ns, `d${t}`, image);
      rollTrials.push(r);
    }
    const refused = podTrials.reduce((n, p) => n + NAMESPACES.reduce((m, ns) => m + p[ns].refused, 0), 0);
    if (refused > 0) throw new Error(`${refused} pod creations were refused: check the bench policy`);

    const pods = medianBy(podTrials, (p) => p.imagegate.ms / p.plain.ms);
    const podsBare = medianBy(podTrials, (p) => p.bare.ms / p.plain.ms);
    const rate = (p: PodsTrial): string =>
      `${((count * 1000) / p.ms).toFixed(0)} pods/s (p99 ${p.p99.toFixed(0)} ms)`;
    row(
      `API server: create ${count} pods, ${IN_FLIGHT} in flight, imagegate (cached) vs no webhook`,
      rate(pods.imagegate),
      rate(pods.plain),
      pods.imagegate.ms / pods.plain.ms,
      'recorded',
      true,
    );
    row(
      `API server: create ${count} pods, a bare webhook vs no webhook`,
      rate(podsBare.bare),
      rate(podsBare.plain),
      podsBare.bare.ms / podsBare.plain.ms,
      'recorded',
      true,
    );
    const own = medianBy(podTrials, (p) => p.imagegate.ms / p.bare.ms);
    row(
      `API server: create ${count} pods, imagegate (cached) vs a bare webhook: imagegate's own share`,
      rate(own.imagegate),
      rate(own.bare),
      own.imagegate.ms / own.bare.ms,
      'recorded',
      true,
    );
    const roll = medianBy(rollTrials, (r) => r.imagegate / r.plain);
    const rollBare = medianBy(rollTrials, (r) => r.bare / r.plain);
    row(
      `API server: Deployment of ${REPLICAS} replicas until all pods exist, imagegate vs no webhook`,
      `${roll.imagegate.toFixed(0)} ms`,
      `${roll.plain.toFixed(0)} ms`,
      roll.imagegate / roll.plain,
      'recorded',
      true,
    );
    row(
      `API server: Deployment of ${REPLICAS} replicas, a bare webhook vs no webhook`,
      `${rollBare.bare.toFixed(0)} ms`,
      `${rollBare.plain.toFixed(0)} ms`,
      rollBare.bare / rollBare.plain,
      'recorded',
      true,
    );
    results.admission = {
      podsPerTrial: count,
      inFlight: IN_FLIGHT,
      replicas: REPLICAS,
      podTrials,
      rollTrials,
    };
  } finally {
    cluster.stop();
    await rm(work, { recursive: true, force: true });
  }
}
