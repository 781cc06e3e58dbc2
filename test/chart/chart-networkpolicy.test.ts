/**
 * The chart's NetworkPolicy (issue 20, property 4): off by default; when on, only port 8443 is
 * reachable, from the peers in `networkPolicy.ingressFrom` (the API server's addresses), and imagegate
 * reaches only DNS and `egressPorts`. Rendered by the real helm and validated against the
 * Kubernetes schema.
 */
import { describe, expect, it } from 'vitest';
import { defaults } from '../helpers/chart-render.js';
import { helmTemplate, tryHelmTemplate } from '../helpers/helm.js';
import { validateObjects } from '../helpers/k8s-validate.js';

describe('charts/imagegate: the NetworkPolicy', () => {
  it('is not rendered by default', () => {
    expect(defaults.all('NetworkPolicy')).toEqual([]);
  });

  describe('when enabled with the API server as the only peer', () => {
    const r = helmTemplate([
      '--set',
      'networkPolicy.enabled=true',
      '--set-json',
      'networkPolicy.ingressFrom=[{"ipBlock":{"cidr":"10.0.0.10/32"}}]',
      '--set-json',
      'networkPolicy.egressPorts=[443,5000]',
    ]);
    const np = r.one('NetworkPolicy');

    it('selects the imagegate pods and is a valid NetworkPolicy', () => {
      expect(np.spec.podSelector.matchLabels).toEqual(r.one('Deployment').spec.selector.matchLabels);
      expect(validateObjects([np])).toEqual([]);
    });

    it('lets only those peers reach port 8443', () => {
      expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
      expect(np.spec.ingress).toEqual([
        { ports: [{ port: 8443, protocol: 'TCP' }], from: [{ ipBlock: { cidr: '10.0.0.10/32' } }] },
      ]);
    });

    it('lets imagegate reach DNS and the listed TCP ports only', () => {
      expect(np.spec.egress).toEqual([
        {
          ports: [
            { port: 53, protocol: 'UDP' },
            { port: 53, protocol: 'TCP' },
          ],
        },
        {
          ports: [
            { port: 443, protocol: 'TCP' },
            { port: 5000, protocol: 'TCP' },
          ],
        },
      ]);
    });
  });

  it('rejects an egress port that is not a port number (values.schema.json)', () => {
    const r = tryHelmTemplate([
      '--set',
      'networkPolicy.enabled=true',
      '--set-json',
      'networkPolicy.egressPorts=[70000]',
    ]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('/networkPolicy/egressPorts/0');
  });
});
