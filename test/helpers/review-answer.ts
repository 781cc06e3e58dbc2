/**
 * A pod review of one image sent to a test server, answered as what a test asserts on: allowed, the
 * denial message, and the finding codes of the decision's audit record (waited for by uid).
 */
import { expect } from 'vitest';
import { podReview } from './admission-fixtures.js';
import type { TestServer } from './server.js';

export interface ReviewAnswer {
  allowed: boolean;
  message: string;
  codes: string[];
}

export async function reviewAnswer(
  server: TestServer,
  image: string,
  namespace = 'team',
): Promise<ReviewAnswer> {
  const sent = podReview([image], { namespace });
  const reply = await server.post('/validate', sent);
  const body = reply.json as { response: { allowed: boolean; status?: { message?: string } } };
  await expect.poll(() => server.audit.some((r) => r.uid === sent.request.uid)).toBe(true);
  const record = server.audit.find((r) => r.uid === sent.request.uid);
  const codes = (record?.images ?? []).flatMap((i) => i.policies.flatMap((p) => p.checks.map((f) => f.code)));
  return { allowed: body.response.allowed, message: body.response.status?.message ?? '', codes };
}
