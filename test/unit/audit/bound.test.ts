import { describe, expect, it } from 'vitest';
import {
  AUDIT_MAX_DETAILS,
  AUDIT_MAX_IMAGES,
  AUDIT_MAX_TEXT,
  boundAuditImages,
} from '../../../src/audit/bound.js';

const image = (i: number, message = 'ok', details?: Record<string, unknown>) => ({
  image: `registry.example.com/app-${i}:1`,
  policies: [
    {
      policy: 'p',
      mode: 'enforce',
      result: 'fail',
      checks: [
        { check: 'size', passed: false, code: 'X', message, ...(details ? { details } : {}), durationMs: 1 },
      ],
    },
  ],
});

describe('boundAuditImages', () => {
  describe('when a pod names 10,000 distinct images', () => {
    it('lists the first images, counts the rest, and the line stays small', () => {
      const all = Array.from({ length: 10_000 }, (_, i) => image(i));
      const { images, omitted } = boundAuditImages(all);
      expect(images).toHaveLength(AUDIT_MAX_IMAGES);
      expect(images[0]!.image).toBe('registry.example.com/app-0:1');
      expect(omitted).toBe(10_000 - AUDIT_MAX_IMAGES);
      expect(JSON.stringify(images).length).toBeLessThan(64 * 1024);
    });
  });

  describe('when a registry made a check message or details huge', () => {
    it('cuts the message and replaces the details by a note', () => {
      const { images, omitted } = boundAuditImages([
        image(1, 'x'.repeat(5_000_000), { steps: 'y'.repeat(AUDIT_MAX_DETAILS * 10) }),
      ]);
      const check = images[0]!.policies[0]!.checks[0]!;
      expect(omitted).toBe(0);
      expect(check.message.length).toBeLessThan(AUDIT_MAX_TEXT + 40);
      expect(check.message).toMatch(/… \(5000000 characters\)$/);
      expect(check.details).toEqual({ omitted: expect.stringMatching(/^details of \d+ characters$/) });
    });
    it('keeps small details and messages as they are', () => {
      const { images } = boundAuditImages([image(1, 'fine', { compressedBytes: 12 })]);
      expect(images[0]!.policies[0]!.checks[0]).toMatchObject({
        message: 'fine',
        details: { compressedBytes: 12 },
      });
    });
  });
});
