import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CRD_PATH, imagePolicyCrd } from '../../scripts/generate-crd.js';
import { CHART, exampleValuesFiles } from '../../scripts/render-manifests.js';
import { helmTemplate, runHelm, type Rendered } from '../helpers/helm.js';
import type { K8sObject } from '../helpers/k8s.js';
import { kindKey, UNVALIDATED_KINDS, validateObjects } from '../helpers/k8s-validate.js';

const EXAMPLES = exampleValuesFiles();
const FULL = [
  '--set',
  'mutating.enabled=true,networkPolicy.enabled=true,serviceMonitor.enabled=true,registry.pullSecrets.enabled=true',
  '--set',
  'rbac.secretNamespaces={keys}',
  '--set-string',
  'tls.clientCA.pem=PEM',
  '--set',
  'registry.config.requestTimeout=5s',
  '--set-json',
  'trustedRoots.roots={"private":"{}"}',
];

const defaults = helmTemplate();
const webhook = (r: Rendered, kind = 'ValidatingWebhookConfiguration') =>
  r.one(kind).webhooks[0] as K8sObject;
const container = (r: Rendered) => r.one('Deployment').spec.template.spec.containers[0] as K8sObject;
const args = (r: Rendered) => container(r).args as string[];

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

    it('sends only admission.k8s.io/v1 reviews, has no side effects and times out after 10 s', () => {
      expect(webhook(defaults)).toMatchObject({
        name: 'validate.imagegate.dev',
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
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
        sideEffects: 'None',
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

  describe('the Deployment', () => {
    const spec = defaults.one('Deployment').spec;
    const pod = spec.template.spec;

    it('runs 2 replicas spread over nodes and zones, protected by a PodDisruptionBudget', () => {
      expect(spec.replicas).toBe(2);
      expect(spec.strategy.rollingUpdate).toEqual({ maxUnavailable: 0, maxSurge: 1 });
      expect(
        pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm
          .topologyKey,
      ).toBe('kubernetes.io/hostname');
      expect(pod.topologySpreadConstraints[0]).toMatchObject({
        topologyKey: 'topology.kubernetes.io/zone',
        maxSkew: 1,
      });
      expect(defaults.one('PodDisruptionBudget').spec).toEqual({ minAvailable: 1, selector: spec.selector });
      expect(helmTemplate(['--set', 'replicaCount=1']).all('PodDisruptionBudget')).toEqual([]);
    });

    it('has the restricted security context', () => {
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect(container(defaults).securityContext).toEqual({
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        privileged: false,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
    });

    it('probes /healthz and /readyz over HTTPS on the webhook port', () => {
      const c = container(defaults);
      expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'https', scheme: 'HTTPS' });
      expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'https', scheme: 'HTTPS' });
      expect(c.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'https', scheme: 'HTTPS' });
    });

    it('writes caches to an emptyDir named by IMAGEGATE_CACHE_DIR and /tmp to memory', () => {
      const c = container(defaults);
      expect(c.env).toContainEqual({ name: 'IMAGEGATE_CACHE_DIR', value: '/var/cache/imagegate' });
      expect(c.volumeMounts).toContainEqual({ name: 'cache', mountPath: '/var/cache/imagegate' });
      expect(c.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
      expect(pod.volumes).toContainEqual({ name: 'cache', emptyDir: { sizeLimit: '256Mi' } });
    });

    it('lets unmatched follow mode unless it is set: enforce passes no flag (deny where enforced)', () => {
      const argsOf = (...set: string[]) =>
        helmTemplate(set.flatMap((s) => ['--set', s])).one('Deployment').spec.template.spec.containers[0]
          .args as string[];
      const unmatchedArgs = (a: string[]) =>
        a.filter((x) => x.startsWith('--unmatched') || x.startsWith('--mode'));
      expect(unmatchedArgs(argsOf('mode=enforce'))).toEqual([]);
      expect(unmatchedArgs(argsOf('mode=enforce', 'unmatched=allow'))).toEqual(['--unmatched=allow']);
      expect(unmatchedArgs(argsOf('mode=audit', 'unmatched=deny'))).toEqual([
        '--mode=audit',
        '--unmatched=deny',
      ]);
    });

    it('passes mode, unmatched, log level and the policy watch to serve', () => {
      expect(args(defaults)).toEqual([
        'serve',
        '--listen=0.0.0.0:8443',
        '--tls-cert=/etc/imagegate/tls/tls.crt',
        '--tls-key=/etc/imagegate/tls/tls.key',
        '--mode=audit',
        '--unmatched=audit',
        '--log-level=info',
        '--watch-policies',
        '--background-audit=1h',
        '--reports=policyreports',
        '--events',
      ]);
      expect(pod.priorityClassName).toBeUndefined();
      expect(
        helmTemplate(['--set', 'priorityClassName=system-cluster-critical']).one('Deployment').spec.template
          .spec.priorityClassName,
      ).toBe('system-cluster-critical');
    });

    it('passes --mode only for audit (enforce lets each policy decide) and --pull-secrets when enabled', () => {
      const r = helmTemplate(['--set', 'mode=enforce,registry.pullSecrets.enabled=true']);
      expect(args(r).some((a) => a.startsWith('--mode'))).toBe(false);
      expect(args(r)).toContain('--pull-secrets');
      expect(args(defaults)).not.toContain('--pull-secrets');
    });

    it('passes registry options, trusted roots and the client CA as flags over mounted files', () => {
      const r = helmTemplate([
        ...FULL,
        '--set',
        'registry.insecure={127.0.0.1:5000},registry.allow={ghcr.io,cgr.dev}',
      ]);
      expect(args(r)).toEqual(
        expect.arrayContaining([
          '--registry-config=/etc/imagegate/registry/registries.yaml',
          '--insecure-registry=127.0.0.1:5000',
          '--allow-registry=ghcr.io',
          '--allow-registry=cgr.dev',
          '--trusted-root=private=/etc/imagegate/trusted-roots/private.json',
          '--client-ca=/etc/imagegate/client-ca/ca.crt',
        ]),
      );
      expect(parse(r.one('Secret', 'ig-imagegate-registry').stringData['registries.yaml'])).toEqual({
        requestTimeout: '5s',
      });
      expect(r.one('ConfigMap', 'ig-imagegate-trusted-roots').data).toEqual({ 'private.json': '{}\n' });
      expect(r.one('ConfigMap', 'ig-imagegate-client-ca').data).toEqual({ 'ca.crt': 'PEM\n' });
    });

    it('uses the image digest when one is given', () => {
      expect(container(defaults).image).toBe('ghcr.io/imagegate/imagegate:0.1.0');
      const digest = `sha256:${'a'.repeat(64)}`;
      expect(container(helmTemplate(['--set', `image.digest=${digest}`])).image).toBe(
        `ghcr.io/imagegate/imagegate@${digest}`,
      );
    });
  });

  describe('RBAC', () => {
    const rules = (r: Rendered) => r.one('ClusterRole').rules as K8sObject[];

    const INFORMER = [
      { apiGroups: ['imagegate.dev'], resources: ['imagepolicies'], verbs: ['list', 'watch'] },
      { apiGroups: ['imagegate.dev'], resources: ['imagepolicies/status'], verbs: ['patch'] },
    ];
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
        {
          apiGroups: [''],
          resources: ['pods', 'replicationcontrollers', 'namespaces'],
          verbs: ['get', 'list', 'watch'],
        },
        {
          apiGroups: ['apps'],
          resources: ['deployments', 'statefulsets', 'daemonsets', 'replicasets'],
          verbs: ['get', 'list', 'watch'],
        },
        { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: ['get', 'list', 'watch'] },
        {
          apiGroups: ['wgpolicyk8s.io'],
          resources: ['policyreports'],
          verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'],
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
      expect(rules(r)).toContainEqual({
        apiGroups: [''],
        resources: ['namespaces'],
        verbs: ['get', 'list', 'watch'],
      });
      expect(
        helmTemplate(['--set', 'rbac.namespaceLabels=true,mode=enforce,events.enabled=false']).one(
          'ClusterRole',
        ).rules,
      ).toHaveLength(3);
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
        verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'],
      });
    });
  });

  describe('policies as values', () => {
    it('become ImagePolicy resources with the given spec', () => {
      const values = parse(readFileSync(EXAMPLES[0]!, 'utf8')) as K8sObject;
      const r = helmTemplate(['-f', EXAMPLES[0]!]);
      const policies = r.all('ImagePolicy');
      expect(policies.map((p) => p.metadata.name)).toEqual(Object.keys(values.policies.items));
      expect(policies[0]!.spec).toEqual(Object.values(values.policies.items)[0]);
    });

    it('the Chainguard example uses signature, size (300Mi) and a cgr.dev base', () => {
      const spec = helmTemplate(['-f', join(CHART, 'examples/chainguard-signed-small.yaml')]).one(
        'ImagePolicy',
      ).spec;
      expect(spec.size.maxCompressed).toBe('300Mi');
      expect(spec.signature.authorities.length).toBeGreaterThan(0);
      expect(spec.base.allowed[0].image).toBe('cgr.dev/chainguard/**');
      expect(spec.base.allowed[0].signature.authorities[0].keyless).toEqual({
        issuer: 'https://token.actions.githubusercontent.com',
        subject: 'https://github.com/chainguard-images/images/.github/workflows/release.yaml@refs/heads/main',
      });
    });

    it('are mounted as policy files when the watch is off', () => {
      const r = helmTemplate(['--set', 'policies.watch=false', '-f', EXAMPLES[0]!]);
      expect(r.all('ImagePolicy')).toEqual([]);
      expect(args(r)).toContain('--policy=/etc/imagegate/policies');
      expect(args(r)).not.toContain('--watch-policies');
      const file = r.one('ConfigMap', 'ig-imagegate-policies').data['chainguard-signed-small.yaml'];
      expect(validateObjects([parse(file)])).toEqual([]);
    });
  });

  describe('values.schema.json', () => {
    it.each([
      ['an unknown top-level key', ['--set', 'replicas=3'], "additional properties 'replicas' not allowed"],
      [
        'an unknown nested key',
        ['--set', 'webhook.failurePolicyy=Fail'],
        "additional properties 'failurePolicyy'",
      ],
      ['a bad mode', ['--set', 'mode=strict'], '/mode'],
      ['a bad failurePolicy', ['--set', 'webhook.failurePolicy=Warn'], '/webhook/failurePolicy'],
      ['a timeout over 30 s', ['--set', 'webhook.timeoutSeconds=31'], '/webhook/timeoutSeconds'],
      [
        'a policy field that does not exist',
        ['--set', 'policies.items.p.images[0].glob=x', '--set', 'policies.items.p.sizes.max=1'],
        "additional properties 'sizes'",
      ],
      ['a policy without images', ['--set', 'policies.items.p.mode=audit'], "missing property 'images'"],
      ['a bad policy name', ['--set', 'policies.items.Bad_Name.images[0].glob=x'], 'Bad_Name'],
      ['a digest that is not sha256', ['--set', 'image.digest=latest'], '/image/digest'],
    ])('rejects %s', (_what, extra, message) => {
      const r = runHelm(['template', 'ig', CHART, ...extra]);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(message);
    });
  });

  describe('helm test', () => {
    it('POSTs an AdmissionReview to the Service with the chart CA, using the test image value', () => {
      const r = helmTemplate([
        '--set',
        'test.image.repository=example.com/curl',
        '--set-string',
        'test.image.tag=1',
      ]);
      const pod = r.objects.find((o) => o.metadata.annotations?.['helm.sh/hook'] === 'test')!;
      const c = pod.spec.containers[0];
      expect(c.image).toBe('example.com/curl:1');
      expect(c.args[0]).toContain('https://ig-imagegate.imagegate.svc:443/validate');
      expect(c.args[0]).toContain('--cacert /tls/ca.crt');
      const review = JSON.parse(c.env.find((e: K8sObject) => e.name === 'REVIEW').value);
      expect(review).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' });
      expect(review.request).toMatchObject({ uid: '__UID__', operation: 'CREATE', dryRun: true });
      expect(pod.spec.volumes[0].secret.secretName).toBe('ig-imagegate-tls');
    });
  });

  describe('the CRD', () => {
    it('ships in crds/ exactly as generated from the policy schema', () => {
      const r = helmTemplate(['--include-crds']);
      expect(r.one('CustomResourceDefinition')).toEqual(imagePolicyCrd());
      expect(parse(readFileSync(CRD_PATH, 'utf8'))).toEqual(imagePolicyCrd());
    });
  });
});
