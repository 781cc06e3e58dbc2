/**
 * The chart under GitOps (Argo CD, Flux render it again and again): an existing Secret renders no
 * certificate and the same caBundle every time; the webhook's pods get a PriorityClass of their own by
 * default; the helm-test image is pinned by digest. Real `helm template`, offline schemas.
 */
import { describe, expect, it } from 'vitest';
import { helmTemplate, tryHelmTemplate } from '../helpers/helm.js';
import { validateObjects } from '../helpers/k8s-validate.js';
import { defaults, webhook } from '../helpers/chart-render.js';
import { makeTlsCert } from '../helpers/tls.js';

describe('charts/imagegate for GitOps', () => {
  describe('tls.existingSecret', () => {
    it('renders no Secret or Certificate, mounts that Secret and puts its CA in every webhook, identically on each render', async () => {
      const { certPem } = await makeTlsCert();
      const values = [
        '--set',
        'tls.existingSecret.name=corp-webhook-tls,mutating.enabled=true',
        '--set-string',
        `tls.existingSecret.caBundle=${certPem}`,
      ];
      const first = helmTemplate(values);
      const second = helmTemplate(values);
      expect(first.all('Secret')).toEqual([]);
      expect(first.all('Certificate')).toEqual([]);
      for (const kind of ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']) {
        expect(Buffer.from(webhook(first, kind).clientConfig.caBundle as string, 'base64').toString()).toBe(
          certPem,
        );
        expect(first.one(kind).metadata.annotations).toBeUndefined();
      }
      const volumes = first.one('Deployment').spec.template.spec.volumes as {
        secret?: { secretName: string };
      }[];
      expect(volumes.map((v) => v.secret?.secretName)).toContain('corp-webhook-tls');
      expect(JSON.stringify(second.objects)).toBe(JSON.stringify(first.objects));
      expect(validateObjects(first.objects)).toEqual([]);
    });

    it('refuses to render without its CA, and with cert-manager at the same time', () => {
      const noCa = tryHelmTemplate(['--set', 'tls.existingSecret.name=x']);
      expect(noCa.status).not.toBe(0);
      expect(noCa.stderr).toContain('tls.existingSecret.caBundle');
      const both = tryHelmTemplate([
        '--set',
        'tls.existingSecret.name=x,tls.existingSecret.caBundle=pem,tls.certManager.enabled=true',
      ]);
      expect(both.status).not.toBe(0);
      expect(both.stderr).toContain('choose one source for the serving certificate');
    });
  });

  describe('the generated certificate (no cert-manager, no existing Secret)', () => {
    it('is looked up before it is generated, so upgrades keep it', () => {
      // helm template has no cluster, so lookup finds nothing and two renders differ; the template reads
      // the Secret first (imagegate.generatedTLS) and marks it as generated once.
      expect(defaults.one('Secret').metadata.annotations).toEqual({ 'imagegate.dev/generated': 'true' });
    });
  });

  describe('priority', () => {
    it('by default creates a PriorityClass of its own, below the system classes, and the pods use it', () => {
      const pc = defaults.one('PriorityClass');
      expect(pc.metadata.name).toBe('ig-imagegate');
      expect(pc.value).toBeGreaterThan(0);
      expect(pc.value).toBeLessThan(2_000_000_000);
      expect(pc.globalDefault).toBe(false);
      expect(defaults.one('Deployment').spec.template.spec.priorityClassName).toBe('ig-imagegate');
    });

    it('uses an existing class when priorityClassName is given, and none when creation is off', () => {
      const named = helmTemplate(['--set', 'priorityClassName=platform-critical']);
      expect(named.all('PriorityClass')).toEqual([]);
      expect(named.one('Deployment').spec.template.spec.priorityClassName).toBe('platform-critical');
      const none = helmTemplate(['--set', 'priorityClass.create=false']);
      expect(none.all('PriorityClass')).toEqual([]);
      expect(none.one('Deployment').spec.template.spec.priorityClassName).toBeUndefined();
    });
  });

  describe('helm test', () => {
    it('runs an image pinned by digest', () => {
      const pod = defaults.all('Pod').find((p) => p.metadata.annotations?.['helm.sh/hook'] === 'test');
      expect(pod?.spec.containers[0].image).toMatch(/^docker\.io\/curlimages\/curl@sha256:[0-9a-f]{64}$/);
    });
  });
});
