import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { MANIFESTS, renderManifests, ROOT } from '../../scripts/render-manifests.js';
import type { K8sObject } from '../helpers/k8s.js';
import { validateObjects } from '../helpers/k8s-validate.js';

const rendered = renderManifests();

describe('manifests/', () => {
  it.each([...rendered.keys()].map((p) => relative(ROOT, p)))('%s is current (npm run manifests)', (path) => {
    expect(readFileSync(`${ROOT}/${path}`, 'utf8')).toBe(rendered.get(`${ROOT}/${path}`));
  });

  it('holds valid Kubernetes objects, the CRD first after the Namespace, and no private key', () => {
    const text = readFileSync(`${MANIFESTS}/imagegate.yaml`, 'utf8');
    const objects = parseAllDocuments(text)
      .map((d) => d.toJS() as K8sObject | null)
      .filter((o): o is K8sObject => o !== null);
    expect(objects.slice(0, 2).map((o) => o.kind)).toEqual(['Namespace', 'CustomResourceDefinition']);
    expect(validateObjects(objects)).toEqual([]);
    expect(text).not.toMatch(/PRIVATE KEY|tls\.key:/);
    expect(objects.some((o) => o.metadata.annotations?.['helm.sh/hook'] === 'test')).toBe(false);
  });

  it('examples are valid ImagePolicy documents', () => {
    for (const [path, text] of rendered) {
      if (!path.includes('/examples/')) continue;
      const docs = parseAllDocuments(text).map((d) => d.toJS() as K8sObject);
      expect(docs.length).toBeGreaterThan(0);
      expect(docs.every((d) => d.kind === 'ImagePolicy')).toBe(true);
      expect(validateObjects(docs)).toEqual([]);
    }
  });
});
