import { describe, expect, it } from 'vitest';
import { imagesOf } from '../../../src/admission/pod-spec.js';

describe('imagesOf', () => {
  describe('when a pod mounts an image volume', () => {
    it('lists the volume image with a pointer /mutate can patch', () => {
      const pod = {
        spec: {
          containers: [{ name: 'app', image: 'ghcr.io/acme/app:1' }],
          volumes: [
            { name: 'config', configMap: { name: 'x' } },
            { name: 'models', image: { reference: 'ghcr.io/acme/models:7', pullPolicy: 'IfNotPresent' } },
          ],
        },
      };
      expect(imagesOf('Pod', pod)).toEqual([
        {
          image: 'ghcr.io/acme/app:1',
          container: 'app',
          field: 'containers',
          pointer: '/spec/containers/0/image',
        },
        {
          image: 'ghcr.io/acme/models:7',
          container: 'volume models',
          field: 'volumes',
          pointer: '/spec/volumes/1/image/reference',
        },
      ]);
    });

    it('rejects an image volume without a reference', () => {
      const pod = { spec: { containers: [{ name: 'a', image: 'x' }], volumes: [{ name: 'v', image: {} }] } };
      expect(() => imagesOf('Pod', pod)).toThrow(/volumes\[0\]\.image\.reference is missing/);
    });
  });

  describe('when the object is a CronJob', () => {
    it('reads the pod template two levels down', () => {
      const cron = {
        spec: {
          jobTemplate: { spec: { template: { spec: { containers: [{ name: 'c', image: 'busybox' }] } } } },
        },
      };
      expect(imagesOf('CronJob', cron)[0]?.pointer).toBe(
        '/spec/jobTemplate/spec/template/spec/containers/0/image',
      );
    });
  });
});
