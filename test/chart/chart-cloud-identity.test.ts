import { describe, expect, it } from 'vitest';
import { CHART } from '../../scripts/render-manifests.js';
import { container, defaults } from '../helpers/chart-render.js';
import { helmTemplate, runHelm } from '../helpers/helm.js';

const ROLE = 'arn:aws:iam::111122223333:role/imagegate-ecr';
const GSA = 'imagegate@my-project.iam.gserviceaccount.com';
const CLIENT = '00000000-1111-2222-3333-444444444444';
const TENANT = '55555555-6666-7777-8888-999999999999';

describe('charts/imagegate: cloud workload identity (cloudIdentity)', () => {
  it('adds nothing by default', () => {
    expect(defaults.one('ServiceAccount').metadata?.annotations).toBeUndefined();
    expect(defaults.one('Deployment').spec.template.metadata.labels).not.toHaveProperty(
      'azure.workload.identity/use',
    );
    expect((container(defaults).env as Array<{ name: string }>).map((e) => e.name)).not.toContain(
      'AWS_REGION',
    );
  });

  it('wires each cloud: IRSA role, GKE service account and Azure client/tenant annotations, Azure pod label, AWS_REGION, GCE_METADATA_HOST', () => {
    const r = helmTemplate([
      '--set',
      `cloudIdentity.aws.roleArn=${ROLE}`,
      '--set',
      'cloudIdentity.aws.region=us-gov-west-1',
      '--set',
      `cloudIdentity.gcp.serviceAccount=${GSA}`,
      '--set',
      `cloudIdentity.azure.clientId=${CLIENT}`,
      '--set',
      `cloudIdentity.azure.tenantId=${TENANT}`,
      '--set',
      'serviceAccount.annotations.team=platform',
    ]);
    expect(r.one('ServiceAccount').metadata?.annotations).toEqual({
      team: 'platform',
      'eks.amazonaws.com/role-arn': ROLE,
      'iam.gke.io/gcp-service-account': GSA,
      'azure.workload.identity/client-id': CLIENT,
      'azure.workload.identity/tenant-id': TENANT,
    });
    const deployment = r.one('Deployment');
    expect(deployment.spec.template.metadata.labels['azure.workload.identity/use']).toBe('true');
    // the selector stays as it was: an upgrade that adds the identity does not replace the Deployment
    expect(deployment.spec.selector).toEqual(defaults.one('Deployment').spec.selector);
    expect(container(r).env).toContainEqual({ name: 'AWS_REGION', value: 'us-gov-west-1' });
    expect(container(r).env).toContainEqual({ name: 'GCE_METADATA_HOST', value: 'metadata.google.internal' });
  });

  it.each([
    ['a role ARN that is not one', 'cloudIdentity.aws.roleArn=imagegate-role'],
    [
      'a GKE service account outside iam.gserviceaccount.com',
      'cloudIdentity.gcp.serviceAccount=me@example.com',
    ],
    ['an Azure client ID that is not a GUID', 'cloudIdentity.azure.clientId=my-identity'],
    ['an unknown cloud', 'cloudIdentity.oracle.ocid=x'],
  ])('the values schema refuses %s', (_what, set) => {
    const r = runHelm(['template', 'ig', CHART, '--set', set]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/values don't meet the specifications of the schema|additional properties/);
  });
});
