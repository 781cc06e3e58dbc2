import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseCommand } from '../../src/cli/args.js';
import { helmTemplate, tryHelmTemplate } from '../helpers/helm.js';
import { FULL, defaults, container, args } from '../helpers/chart-render.js';

describe('charts/imagegate: the Deployment', () => {
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
        '--warm-up',
      ]);
      expect(pod.priorityClassName).toBe('ig-imagegate'); // the chart's own PriorityClass (chart-gitops.test.ts)
      expect(
        helmTemplate(['--set', 'priorityClassName=system-cluster-critical']).one('Deployment').spec.template
          .spec.priorityClassName,
      ).toBe('system-cluster-critical');
    });

    it('passes exceptions.maxDuration as --max-exception-duration, which serve parses', () => {
      const rendered = args(helmTemplate(['--set', 'exceptions.maxDuration=7d']));
      expect(rendered).toContain('--max-exception-duration=7d');
      const cmd = parseCommand(rendered.filter((a) => a === 'serve' || a.startsWith('--max-exception')));
      expect(cmd.command === 'serve' && cmd.common.maxExceptionDurationMs).toBe(7 * 86_400_000);
      expect(args(defaults).some((a) => a.startsWith('--max-exception-duration'))).toBe(false);
      expect(tryHelmTemplate(['--set', 'exceptions.maxDuration=7x']).stderr).toMatch(
        /exceptions\/maxDuration.*does not match pattern/,
      );
    });

    it('passes attestations.cacheMaxBytes as --attestation-cache-bytes, which serve parses (0 included)', () => {
      const flag = (set: string) =>
        args(helmTemplate(['--set', set])).filter((a) => a.startsWith('--attestation-cache-bytes'));
      expect(flag('attestations.cacheMaxBytes=64Mi')).toEqual(['--attestation-cache-bytes=64Mi']);
      expect(flag('attestations.cacheMaxBytes=0')).toEqual(['--attestation-cache-bytes=0']);
      expect(flag('attestations.cacheMaxBytes=33554432')).toEqual(['--attestation-cache-bytes=33554432']);
      const cmd = parseCommand(['serve', ...flag('attestations.cacheMaxBytes=64Mi')]);
      expect(cmd.command === 'serve' && cmd.caches.evidenceCacheBytes).toBe(64 * 1024 * 1024);
      expect(args(defaults).some((a) => a.startsWith('--attestation-cache-bytes'))).toBe(false);
      expect(tryHelmTemplate(['--set', 'attestations.cacheMaxBytes=lots']).stderr).toMatch(
        /attestations\/cacheMaxBytes/,
      );
    });

    it('passes kms.keyRefresh as --kms-key-refresh, which serve parses', () => {
      const rendered = args(helmTemplate(['--set', 'kms.keyRefresh=15m']));
      expect(rendered).toContain('--kms-key-refresh=15m');
      const cmd = parseCommand(rendered.filter((a) => a === 'serve' || a.startsWith('--kms-key-refresh')));
      expect(cmd.command === 'serve' && cmd.caches.kmsKeyRefreshMs).toBe(15 * 60_000);
      expect(args(defaults).some((a) => a.startsWith('--kms-key-refresh'))).toBe(false);
      expect(tryHelmTemplate(['--set', 'kms.keyRefresh=soon']).stderr).toMatch(
        /kms\/keyRefresh.*does not match pattern/,
      );
    });

    it('passes --warm-up (serve parses it) unless warmUp.enabled is false', () => {
      const cmd = parseCommand(args(defaults).filter((a) => a === 'serve' || a === '--warm-up'));
      expect(cmd.command === 'serve' && cmd.warmUp).toBe(true);
      expect(args(helmTemplate(['--set', 'warmUp.enabled=false']))).not.toContain('--warm-up');
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
});
