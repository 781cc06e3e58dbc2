import { describe, expect, it } from 'vitest';
import { splitPem } from '../../../src/checks/signature/cosign-legacy.js';
import { cleanBuildStep } from '../../../src/checks/size.js';

const BEGIN = '-----BEGIN CERTIFICATE-----';
const END = '-----END CERTIFICATE-----';

describe('cleanBuildStep on registry-controlled text', () => {
  it('drops the BuildKit marker after any run of spaces', () => {
    expect(cleanBuildStep(`RUN make ${' '.repeat(10)}# buildkit`)).toBe('RUN make');
  });

  it('shows a step of millions of spaces as a short line', () => {
    const step = cleanBuildStep(`RUN ${' '.repeat(4 * 1024 * 1024)}x`);
    expect(step).toBe('RUN');
    expect(cleanBuildStep(`RUN ${'y'.repeat(1 << 20)}`)?.length).toBe(120);
  });
});

describe('splitPem', () => {
  const cert = (body: string): string => `${BEGIN}\n${body}\n${END}`;

  it('finds each certificate block, in order, ignoring text between them', () => {
    expect(splitPem(`junk\n${cert('A')}\nmore\n${cert('B')}\n`, 'chain')).toEqual([cert('A'), cert('B')]);
  });

  it('reads a header repeated many times without an END as no certificate', () => {
    expect(splitPem(`${BEGIN}\n`.repeat(2000), 'certificate')).toEqual([]);
  });

  it('refuses annotations over the length cap and chains over the count cap', () => {
    expect(() => splitPem(`${BEGIN}\n`.repeat(100_000), 'certificate')).toThrowError(/longer than/);
    expect(() => splitPem(Array.from({ length: 9 }, () => cert('A')).join('\n'), 'chain')).toThrowError(
      /more than 8 certificates/,
    );
  });
});
