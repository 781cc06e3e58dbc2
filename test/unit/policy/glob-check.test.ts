import { describe, expect, it } from 'vitest';
import { compileGlob } from '../../../src/policy/glob.js';
import { checkImageGlob } from '../../../src/policy/glob-check.js';
import { parsePolicyYaml } from '../../../src/policy/load.js';
import { formatReference, parseReference, repositoryName } from '../../../src/registry/reference.js';
import { policyYaml } from '../../helpers/policy-documents.js';

describe('checkImageGlob', () => {
  describe('when the glob can never match a normalised reference', () => {
    it.each([
      ['nginx*', 'docker.io/library/nginx*'],
      ['nginx', 'docker.io/library/nginx'],
      ['nginx:1.*', 'docker.io/library/nginx:1.*'],
      ['library/**', 'docker.io/library/**'],
      ['bitnami/*', 'docker.io/bitnami/*'],
      ['docker.io/nginx', 'docker.io/library/nginx'],
      ['docker.io/nginx*', 'docker.io/library/nginx*'],
      ['https://registry.example.com/app', 'registry.example.com/app'],
      ['oci://registry.example.com/**', 'registry.example.com/**'],
      ['registry.example.com/Team/App', 'registry.example.com/team/app'],
      ['registry.example.com', 'registry.example.com/**'],
      ['127.0.0.1:5000', '127.0.0.1:5000/**'],
    ])('refuses %s and suggests %s', (glob, suggestion) => {
      const problem = checkImageGlob(glob);
      expect(problem).toContain('can never match');
      expect(problem).toContain(`write "${suggestion}"`);
      // The suggestion itself is accepted.
      expect(checkImageGlob(suggestion)).toBeUndefined();
    });

    it.each([
      'registry.example.com//app',
      'registry.example.com/app/',
      'registry.example.com/a b',
      'registry.example.com/app:',
      'registry.example.com/(x)',
      'registry.example.com:99999/app',
      'bad_host.example.com/app',
    ])('refuses %j', (glob) => {
      expect(checkImageGlob(glob)).toContain('can never match');
    });
  });

  describe('when the glob can match', () => {
    it.each([
      ['**', 'nginx'],
      ['docker.io/library/nginx*', 'nginx:1.27'],
      ['docker.io/**', 'bitnami/redis'],
      ['Registry.Example.com/**', 'registry.example.com/app'],
      ['registry.example.com:443/team/*', 'registry.example.com/team/app'],
      ['*.example.com/**', 'registry.example.com/app'],
      ['**/tools', 'ghcr.io/org/tools'],
      ['localhost:5000/**', '127.0.0.1:5000/app'],
      ['registry.example.com/app:1.*', 'registry.example.com/app:1.2'],
      [
        `registry.example.com/app@sha256:${'a'.repeat(64)}`,
        `registry.example.com/app@sha256:${'a'.repeat(64)}`,
      ],
    ])('accepts %s, which governs %s', (glob, image) => {
      expect(checkImageGlob(glob)).toBeUndefined();
      const ref = parseReference(image);
      const subject = glob.includes(':1.') || glob.includes('@') ? formatReference(ref) : repositoryName(ref);
      expect(compileGlob(glob)(subject)).toBe(true);
    });
  });
});

describe('checkImageGlob on local layouts', () => {
  it('accepts oci-layout/… (the CLI names oci:PATH images so), which governs a layout path', () => {
    expect(checkImageGlob('oci-layout/**')).toBeUndefined();
    expect(compileGlob('oci-layout/**')('oci-layout/tmp/build/app')).toBe(true);
  });
});

describe('parsePolicyYaml', () => {
  describe('when an enforcing policy holds a glob that can never match', () => {
    it('refuses the document with every such glob and its suggestion', () => {
      const yaml = policyYaml('nginx', {
        images: [{ glob: 'nginx*' }, { glob: 'docker.io/library/redis' }],
        exclude: [{ glob: 'library/busybox' }],
        requireDigest: true,
      });
      expect(() => parsePolicyYaml(yaml, 'p.yaml')).toThrow(
        expect.objectContaining({
          code: 'POLICY_INVALID',
          message: expect.stringMatching(
            /spec\.images\[0\]\.glob: "nginx\*" can never match.*write "docker\.io\/library\/nginx\*".*spec\.exclude\[0\]\.glob: "library\/busybox"/,
          ),
        }),
      );
    });
  });
});
