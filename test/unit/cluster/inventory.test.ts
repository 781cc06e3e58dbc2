import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InventoryBuilder } from '../../../src/cluster/inventory.js';
import type { ListedKind, ListedObject } from '../../../src/kube/list.js';
import type { K8sObject } from '../../helpers/k8s.js';

const DIR = new URL('../../fixtures/k8s/cluster/', import.meta.url);
const objects: ListedObject[] = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .flatMap((f) => (JSON.parse(readFileSync(new URL(f, DIR), 'utf8')) as K8sObject).items as K8sObject[])
  .map((o) => ({ ...o, kind: o.kind as ListedKind, metadata: o.metadata }));

function build(list: ListedObject[]) {
  const b = new InventoryBuilder();
  for (const o of list) b.add(o);
  return b.build();
}

describe('InventoryBuilder', () => {
  describe('with the fixture cluster', () => {
    const inv = build(objects);
    const names = inv.workloads.map((w) => `${w.namespace}/${w.kind}/${w.name}:${w.pods}`);

    it('has one workload per top-level owner, with its pods counted', () => {
      expect(names).toEqual([
        'batch/CronJob/nightly:1',
        'batch/CronJob/weekly:0',
        'batch/Job/migrate:1',
        'infra/DaemonSet/log-agent:1',
        'infra/ReplicationController/legacy:1',
        'infra/StatefulSet/db:1',
        'kube-system/Deployment/coredns:1',
        'shop/Deployment/api:1',
        'shop/Deployment/web:2',
        'shop/Pod/debug:1',
      ]);
    });

    it('keeps distinct (container, image) pairs, init containers included', () => {
      const debug = inv.workloads.find((w) => w.name === 'debug')!;
      expect(debug.containers.map((c) => `${c.field}/${c.container}=${c.image}`)).toEqual([
        'initContainers/setup=REGISTRY/shop/web:v1',
        'containers/shell=REGISTRY/shop/debug:latest',
      ]);
      const web = inv.workloads.find((w) => w.name === 'web')!;
      expect(web.containers).toHaveLength(1); // template and two pods, one pair
    });

    it('keeps namespace labels for label selectors', () => {
      expect(inv.namespaceLabels.get('infra')).toMatchObject({ tier: 'infra' });
    });
  });

  describe('when a relist delivers objects again', () => {
    it('counts each object once (by uid)', () => {
      const pods = objects.filter((o) => o.kind === 'Pod');
      const inv = build([...objects, ...pods]);
      expect(inv.workloads.find((w) => w.name === 'web')?.pods).toBe(2);
    });
  });

  describe('when owner references form a loop', () => {
    it('stops following them and counts the pod once', () => {
      const a: ListedObject = {
        kind: 'ReplicaSet',
        metadata: {
          name: 'a',
          namespace: 'x',
          uid: 'ua',
          ownerReferences: [
            { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'b', uid: 'ub', controller: true },
          ],
        },
        spec: { template: { spec: { containers: [{ name: 'c', image: 'img' }] } } },
      };
      const b: ListedObject = {
        ...a,
        metadata: {
          ...a.metadata,
          name: 'b',
          uid: 'ub',
          ownerReferences: [
            { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'a', uid: 'ua', controller: true },
          ],
        },
      };
      const pod: ListedObject = {
        kind: 'Pod',
        metadata: {
          name: 'p',
          namespace: 'x',
          uid: 'up',
          ownerReferences: [
            { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'a', uid: 'ua', controller: true },
          ],
        },
        spec: { containers: [{ name: 'c', image: 'img' }] },
      };
      expect(build([a, b, pod]).workloads.reduce((n, w) => n + w.pods, 0)).toBe(1);
    });
  });
});
