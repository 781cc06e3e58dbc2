import { describe, expect, it } from 'vitest';
import { cleanBuildStep, describeLayer } from '../../../src/checks/size.js';

const layer = (index: number, createdBy: string) => ({
  index,
  bytes: 30 * 1024 * 1024,
  createdBy: cleanBuildStep(createdBy),
});

describe('describeLayer advice', () => {
  describe("when the heaviest layer is the base image's root file system", () => {
    it.each([
      // docker build (classic builder), as `docker history --no-trunc` shows Debian's and Alpine's bases
      '/bin/sh -c #(nop) ADD file:5d6b639e8b6bcc01174a0ef68d1ae3b6e0ee4b94b8a4d1d1b8a4e7e7e4f3a2b1 in / ',
      // BuildKit, `ADD rootfs.tar.gz /` in the base's Dockerfile
      'ADD alpine-minirootfs-3.20.3-x86_64.tar.gz / # buildkit',
    ])('suggests a smaller base and a multi-stage build, not .dockerignore (%s)', (createdBy) => {
      const text = describeLayer(layer(1, createdBy), true);
      expect(text).toContain("the base image's root file system: choose a smaller base");
      expect(text).toContain('multi-stage build');
      expect(text).not.toContain('.dockerignore');
    });
  });

  describe('when the heaviest layer copies the build context', () => {
    it('points at .dockerignore', () => {
      expect(describeLayer(layer(4, 'COPY . /app # buildkit'), true)).toContain('.dockerignore');
    });
    it('also for a later layer unpacked at / (not the base)', () => {
      expect(describeLayer(layer(3, 'ADD vendor.tar.gz / # buildkit'), true)).toContain('.dockerignore');
    });
  });

  describe('when the heaviest layer ran a command', () => {
    it('suggests a multi-stage build', () => {
      expect(describeLayer(layer(2, '/bin/sh -c npm install'), true)).toContain(
        'consider a multi-stage build',
      );
    });
  });
});
