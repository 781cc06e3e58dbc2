import { createPrivateKey, X509Certificate } from 'node:crypto';
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHART } from '../../scripts/render-manifests.js';
import { helmTemplate, runHelm, type Rendered } from '../helpers/helm.js';
import type { K8sObject } from '../helpers/k8s.js';
import { kindKey, UNVALIDATED_KINDS, validateObjects } from '../helpers/k8s-validate.js';
import { EXAMPLES, FULL, defaults, webhook, container, args } from '../helpers/chart-render.js';

describe('charts/imagegate', () => {
  describe('helm lint --strict', () => {
    it.each(['(defaults)', ...EXAMPLES.map((f) => basename(f))])('passes with %s', (name) => {
      const file = EXAMPLES.find((f) => basename(f) === name);
      const r = runHelm(['lint', '--strict', CHART, ...(file ? ['-f', file] : [])]);
      expect(r.stderr + r.stdout).toContain('0 chart(s) failed');
      expect(r.status).toBe(0);
    });
  });

  describe('rendered objects', () => {
    it.each([
      ['defaults', [] as string[]],
      ['every option on', FULL],
      ['cert-manager TLS', ['--set', 'tls.certManager.enabled=true,mutating.enabled=true', '--include-crds']],
      ['file policies', ['--set', 'policies.watch=false', '-f', EXAMPLES[0]!]],
      ...EXAMPLES.map((f): [string, string[]] => [basename(f), ['-f', f, '--include-crds']]),
    ])('validate against the Kubernetes API schemas (%s)', (_name, extra) => {
      const r = helmTemplate(extra);
      expect(validateObjects(r.objects)).toEqual([]);
    });

    it('include only kinds with offline schemas, except the documented custom resources', () => {
      const kinds = new Set(
        helmTemplate([...FULL, '--set', 'tls.certManager.enabled=true']).objects.map(kindKey),
      );
      expect([...kinds].filter((k) => UNVALIDATED_KINDS.has(k)).sort()).toEqual([
        'cert-manager.io/v1/Certificate',
        'cert-manager.io/v1/Issuer',
        'monitoring.coreos.com/v1/ServiceMonitor',
      ]);
    });

    it('carry the standard labels', () => {
      for (const o of defaults.objects) {
        expect(o.metadata.labels).toMatchObject({
          'app.kubernetes.io/name': 'imagegate',
          'app.kubernetes.io/instance': 'ig',
          'app.kubernetes.io/managed-by': 'Helm',
          'helm.sh/chart': 'imagegate-0.1.0',
        });
      }
    });
  });

  describe('the webhook reaches the server', () => {
    it('calls POST /validate on the Service port that targets the container port 8443 the server listens on', () => {
      const svc = defaults.one('Service');
      const hook = webhook(defaults);
      expect(hook.clientConfig.service).toEqual({
        name: svc.metadata.name,
        namespace: 'imagegate',
        path: '/validate',
        port: 443,
      });
      expect(svc.spec.ports).toEqual([{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }]);
      expect(container(defaults).ports).toEqual([{ name: 'https', containerPort: 8443, protocol: 'TCP' }]);
      expect(args(defaults)).toContain('--listen=0.0.0.0:8443');
      expect(svc.spec.selector).toEqual(defaults.one('Deployment').spec.selector.matchLabels);
    });

    it('sends only admission.k8s.io/v1 reviews, has no side effects on dry runs and times out after 10 s', () => {
      // NoneOnDryRun, not None: real denials may write Events (--events); dry runs never do.
      expect(webhook(defaults)).toMatchObject({
        name: 'validate.imagegate.dev',
        admissionReviewVersions: ['v1'],
        sideEffects: 'NoneOnDryRun',
        timeoutSeconds: 10,
      });
    });

    it('trusts the CA that signed the serving certificate for the Service name', () => {
      const secret = defaults.one('Secret', 'ig-imagegate-tls');
      const b64 = (k: string) => Buffer.from(secret.data[k] as string, 'base64');
      expect(webhook(defaults).clientConfig.caBundle).toBe(secret.data['ca.crt']);
      const ca = new X509Certificate(b64('ca.crt'));
      const leaf = new X509Certificate(b64('tls.crt'));
      expect(leaf.verify(ca.publicKey)).toBe(true);
      expect(leaf.checkHost('ig-imagegate.imagegate.svc')).toBe('ig-imagegate.imagegate.svc');
      expect(leaf.checkPrivateKey(createPrivateKey(b64('tls.key')))).toBe(true);
      expect(defaults.one('Deployment').spec.template.spec.volumes).toContainEqual({
        name: 'tls',
        secret: { secretName: 'ig-imagegate-tls' },
      });
      expect(args(defaults)).toEqual(
        expect.arrayContaining([
          '--tls-cert=/etc/imagegate/tls/tls.crt',
          '--tls-key=/etc/imagegate/tls/tls.key',
        ]),
      );
    });

    it('with webhook.url, calls that URL instead of the Service, with a certificate naming its host', () => {
      const r = helmTemplate(['--set', 'webhook.url=https://127.0.0.1:9443/,mutating.enabled=true']);
      expect(webhook(r).clientConfig.url).toBe('https://127.0.0.1:9443/validate');
      expect(webhook(r, 'MutatingWebhookConfiguration').clientConfig.url).toBe(
        'https://127.0.0.1:9443/mutate',
      );
      expect(webhook(r).clientConfig.service).toBeUndefined();
      const secret = r.one('Secret', 'ig-imagegate-tls');
      const leaf = new X509Certificate(Buffer.from(secret.data['tls.crt'] as string, 'base64'));
      expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
      expect(leaf.checkHost('ig-imagegate.imagegate.svc')).toBe('ig-imagegate.imagegate.svc');
      const named = helmTemplate(['--set', 'webhook.url=https://dev.example:8443']);
      const cert = named.one('Secret', 'ig-imagegate-tls').data['tls.crt'] as string;
      expect(new X509Certificate(Buffer.from(cert, 'base64')).checkHost('dev.example')).toBe('dev.example');
    });

    it('refuses a webhook.url that is not https://HOST[:PORT]', () => {
      for (const url of ['http://127.0.0.1:9443', 'https://h/validate', 'https://u@h'])
        expect(() => helmTemplate(['--set', `webhook.url=${url}`])).toThrow(/webhook\.url|url/);
    });

    it('with cert-manager, lets cainjector fill caBundle from the Certificate that writes the same Secret', () => {
      const r = helmTemplate(['--set', 'tls.certManager.enabled=true,mutating.enabled=true']);
      const cert = r.one('Certificate');
      for (const kind of ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']) {
        expect(r.one(kind).metadata.annotations).toEqual({
          'cert-manager.io/inject-ca-from': `imagegate/${cert.metadata.name}`,
        });
        expect(webhook(r, kind).clientConfig.caBundle).toBeUndefined();
      }
      expect(cert.spec.secretName).toBe('ig-imagegate-tls');
      expect(cert.spec.dnsNames).toContain('ig-imagegate.imagegate.svc');
      expect(cert.spec.issuerRef).toEqual({
        name: 'ig-imagegate-selfsigned',
        kind: 'Issuer',
        group: 'cert-manager.io',
      });
      expect(r.one('Issuer').spec).toEqual({ selfSigned: {} });
      expect(r.all('Secret')).toEqual([]);
    });

    it('with an existing issuer, creates no Issuer', () => {
      const r = helmTemplate([
        '--set',
        'tls.certManager.enabled=true,tls.certManager.issuerRef.name=corp,tls.certManager.issuerRef.kind=ClusterIssuer',
      ]);
      expect(r.all('Issuer')).toEqual([]);
      expect(r.one('Certificate').spec.issuerRef).toEqual({
        name: 'corp',
        kind: 'ClusterIssuer',
        group: 'cert-manager.io',
      });
    });

    it('adds the digest-pinning MutatingWebhookConfiguration on /mutate only when enabled', () => {
      expect(defaults.all('MutatingWebhookConfiguration')).toEqual([]);
      const r = helmTemplate(['--set', 'mutating.enabled=true']);
      const m = webhook(r, 'MutatingWebhookConfiguration');
      expect(m.clientConfig.service.path).toBe('/mutate');
      expect(m.clientConfig.caBundle).toBe(webhook(r).clientConfig.caBundle);
      expect(m).toMatchObject({
        reinvocationPolicy: 'IfNeeded',
        sideEffects: 'NoneOnDryRun',
        admissionReviewVersions: ['v1'],
      });
    });
  });

  describe('failurePolicy', () => {
    it.each([
      [[], 'Ignore'],
      [['--set', 'mode=enforce'], 'Fail'],
      [['--set', 'mode=enforce,webhook.failurePolicy=Ignore'], 'Ignore'],
      [['--set', 'webhook.failurePolicy=Fail'], 'Fail'],
    ])('with %j is %s', (extra, expected) => {
      expect(webhook(helmTemplate(extra)).failurePolicy).toBe(expected);
    });
  });

  describe('what is reviewed', () => {
    it('never the release namespace, kube-system, extra exclusions or namespaces labelled imagegate.dev/ignore=true', () => {
      const r = helmTemplate(['--set', 'webhook.excludeNamespaces={monitoring}'], 'x', 'security');
      expect(webhook(r).namespaceSelector).toEqual({
        matchExpressions: [
          {
            key: 'kubernetes.io/metadata.name',
            operator: 'NotIn',
            values: ['security', 'kube-system', 'monitoring'],
          },
          { key: 'imagegate.dev/ignore', operator: 'NotIn', values: ['true'] },
        ],
      });
    });

    it('pods (with ephemeral containers) and every built-in pod controller, on CREATE and UPDATE', () => {
      const rules = webhook(defaults).rules as K8sObject[];
      const resources = rules.flatMap((r) =>
        (r.resources as string[]).map((res) => `${r.apiGroups[0]}/${res}`),
      );
      expect(resources.sort()).toEqual(
        [
          '/pods',
          '/pods/ephemeralcontainers',
          '/replicationcontrollers',
          '/podtemplates',
          'apps/deployments',
          'apps/statefulsets',
          'apps/daemonsets',
          'apps/replicasets',
          'batch/jobs',
          'batch/cronjobs',
        ].sort(),
      );
      for (const r of rules)
        expect(r).toMatchObject({ operations: ['CREATE', 'UPDATE'], scope: 'Namespaced' });
    });

    it('skips unchanged updates and kubelet requests with matchConditions, and appends extra ones', () => {
      const names = (r: Rendered) => (webhook(r).matchConditions ?? []).map((c: K8sObject) => c.name);
      expect(names(defaults)).toEqual(['spec-changed', 'not-from-kubelet']);
      const off = helmTemplate([
        '--set',
        'webhook.matchConditions.skipUnchangedUpdates=false,webhook.matchConditions.skipNodeRequests=false',
      ]);
      expect(webhook(off).matchConditions).toBeUndefined();
      const extra = helmTemplate([
        '--set-json',
        'webhook.matchConditions.extra=[{"name":"x","expression":"true"}]',
      ]);
      expect(names(extra)).toEqual(['spec-changed', 'not-from-kubelet', 'x']);
    });
  });
});
