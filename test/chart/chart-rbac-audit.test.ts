import { describe, expect, it } from 'vitest';
import { CHART } from '../../scripts/render-manifests.js';
import { helmTemplate, runHelm, type Rendered } from '../helpers/helm.js';
import type { K8sObject } from '../helpers/k8s.js';
import { EXAMPLES, FULL, defaults, args } from '../helpers/chart-render.js';

describe('charts/imagegate: RBAC, background audit and reports', () => {
  describe('RBAC', () => {
    const rules = (r: Rendered) => r.one('ClusterRole').rules as K8sObject[];

    const INFORMER = [
      { apiGroups: ['imagegate.dev'], resources: ['imagepolicies'], verbs: ['list', 'watch'] },
      { apiGroups: ['imagegate.dev'], resources: ['imagepolicies/status'], verbs: ['patch'] },
      { apiGroups: ['imagegate.dev'], resources: ['imagepolicyexceptions'], verbs: ['list', 'watch'] },
      { apiGroups: ['imagegate.dev'], resources: ['imagepolicyexceptions/status'], verbs: ['patch'] },
      { apiGroups: ['imagegate.dev'], resources: ['namespacedimagepolicies'], verbs: ['list', 'watch'] },
      { apiGroups: ['imagegate.dev'], resources: ['namespacedimagepolicies/status'], verbs: ['patch'] },
    ];

    it('lets nobody create, change or delete ImagePolicyExceptions (who may is the cluster’s RBAC)', () => {
      for (const r of [defaults, helmTemplate(['--set', 'mode=enforce'])]) {
        const granted = [...r.all('ClusterRole'), ...r.all('Role')].flatMap((role) =>
          ((role.rules ?? []) as K8sObject[]).filter((rule) =>
            (rule.resources as string[]).some((res) => res.startsWith('imagepolicyexceptions')),
          ),
        );
        const verbs = granted.flatMap((rule) => rule.verbs as string[]);
        expect(verbs.sort()).toEqual(['list', 'patch', 'watch']);
        expect(granted.find((rule) => (rule.verbs as string[]).includes('patch'))?.resources).toEqual([
          'imagepolicyexceptions/status',
        ]);
      }
    });
    const EVENTS = { apiGroups: [''], resources: ['events'], verbs: ['create', 'get', 'patch'] };

    it('grants in enforce mode exactly what the policy informer and the Events use', () => {
      const r = helmTemplate(['--set', 'mode=enforce']);
      expect(rules(r)).toEqual([...INFORMER, EVENTS]);
      expect(r.all('Role')).toEqual([]);
      expect(rules(helmTemplate(['--set', 'mode=enforce,events.enabled=false']))).toEqual(INFORMER);
    });

    it('grants by default (audit mode, background audit on) read-only access to what runs, the report kind and a Lease', () => {
      expect(rules(defaults)).toEqual([
        ...INFORMER,
        { apiGroups: [''], resources: ['pods', 'replicationcontrollers'], verbs: ['list'] },
        { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list'] },
        {
          apiGroups: ['apps'],
          resources: ['deployments', 'statefulsets', 'daemonsets', 'replicasets'],
          verbs: ['list'],
        },
        { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: ['list'] },
        {
          apiGroups: ['wgpolicyk8s.io'],
          resources: ['policyreports'],
          verbs: ['get', 'list', 'create', 'update', 'delete'],
        },
        EVENTS,
      ]);
      const lease = defaults.one('Role', 'ig-imagegate-lease');
      expect(lease.metadata.namespace).toBe('imagegate');
      expect(lease.rules).toEqual([
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
      ]);
      expect(defaults.one('RoleBinding', 'ig-imagegate-lease').roleRef.name).toBe('ig-imagegate-lease');
      expect(defaults.one('ClusterRoleBinding').subjects).toEqual([
        { kind: 'ServiceAccount', name: 'ig-imagegate', namespace: 'imagegate' },
      ]);
    });

    it('adds namespaces read access when a policy selects namespaces by label', () => {
      const r = helmTemplate(['-f', EXAMPLES.find((f) => f.endsWith('key-signed-enforced.yaml'))!]);
      expect(rules(r)).toContainEqual({ apiGroups: [''], resources: ['namespaces'], verbs: ['get'] });
      expect(
        helmTemplate(['--set', 'rbac.namespaceLabels=true,mode=enforce,events.enabled=false']).one(
          'ClusterRole',
        ).rules,
      ).toHaveLength(INFORMER.length + 1);
    });

    it('reads secrets cluster-wide only for pull-secret lookups, else only in the listed namespaces', () => {
      const r = helmTemplate(FULL);
      expect(rules(r)).toContainEqual({
        apiGroups: [''],
        resources: ['secrets', 'serviceaccounts'],
        verbs: ['get'],
      });
      const role = r.one('Role', 'ig-imagegate-secrets');
      expect(role.metadata.namespace).toBe('keys');
      expect(role.rules).toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }]);
      expect(r.one('RoleBinding', 'ig-imagegate-secrets').subjects[0]).toMatchObject({
        name: 'ig-imagegate',
        namespace: 'imagegate',
      });
    });
  });

  describe('background audit and reports', () => {
    it('runs at the configured interval with the configured report kind, and not in enforce mode unless asked', () => {
      expect(args(helmTemplate(['--set', 'backgroundAudit.interval=30m,reports.kind=openreports']))).toEqual(
        expect.arrayContaining(['--background-audit=30m', '--reports=openreports']),
      );
      expect(args(helmTemplate(['--set', 'mode=enforce'])).join(' ')).not.toContain('--background-audit');
      expect(args(helmTemplate(['--set', 'mode=enforce,backgroundAudit.enabled=true']))).toContain(
        '--background-audit=1h',
      );
      expect(args(helmTemplate(['--set', 'backgroundAudit.enabled=false'])).join(' ')).not.toContain(
        '--background-audit',
      );
    });

    it('refuses an interval that is not a duration', () => {
      const r = runHelm(['template', 'ig', CHART, '--set', 'backgroundAudit.interval=hourly']);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain("at '/backgroundAudit/interval': 'hourly' does not match pattern");
    });

    it('installs the report CRD only with reports.installCRDs', () => {
      expect(defaults.all('CustomResourceDefinition').map((c) => c.metadata.name)).not.toContain(
        'policyreports.wgpolicyk8s.io',
      );
      const wg = helmTemplate(['--set', 'reports.installCRDs=true']).one(
        'CustomResourceDefinition',
        'policyreports.wgpolicyk8s.io',
      );
      expect(wg.spec.versions.map((v: K8sObject) => v.name)).toContain('v1alpha2');
      const open = helmTemplate(['--set', 'reports.installCRDs=true,reports.kind=openreports']);
      expect(open.one('CustomResourceDefinition', 'reports.openreports.io').spec.group).toBe(
        'openreports.io',
      );
      expect(open.one('ClusterRole').rules).toContainEqual({
        apiGroups: ['openreports.io'],
        resources: ['reports'],
        verbs: ['get', 'list', 'create', 'update', 'delete'],
      });
    });
  });
});
