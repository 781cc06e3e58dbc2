import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CRD_PATH, imagePolicyCrd } from '../../scripts/generate-crd.js';
import { EXCEPTION_CRD_PATH, imagePolicyExceptionCrd } from '../../scripts/exception-crd.js';
import { namespacedImagePolicyCrd } from '../../scripts/tenant-crd.js';
import { CHART } from '../../scripts/render-manifests.js';
import { helmTemplate, runHelm } from '../helpers/helm.js';
import type { K8sObject } from '../helpers/k8s.js';
import { validateObjects } from '../helpers/k8s-validate.js';
import { EXAMPLES, args } from '../helpers/chart-render.js';

describe('charts/imagegate: policies, values schema, helm test, CRD', () => {
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
        '--set',
        'test.image.digest=',
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
      const crds = r.all('CustomResourceDefinition');
      expect(crds.find((c) => c.spec.names.kind === 'ImagePolicy')).toEqual(imagePolicyCrd());
      expect(crds.find((c) => c.spec.names.kind === 'ImagePolicyException')).toEqual(
        imagePolicyExceptionCrd(),
      );
      expect(parse(readFileSync(EXCEPTION_CRD_PATH, 'utf8'))).toEqual(imagePolicyExceptionCrd());
      expect(crds.find((c) => c.spec.names.kind === 'NamespacedImagePolicy')).toEqual(
        namespacedImagePolicyCrd(),
      );
      expect(parse(readFileSync(CRD_PATH, 'utf8'))).toEqual(imagePolicyCrd());
    });
  });
});
