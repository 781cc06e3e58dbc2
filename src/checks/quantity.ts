/**
 * Kubernetes quantities as byte counts (`300Mi`, `1.5G`, `1048576`), and bytes for people (`812 MiB`).
 * One grammar: the policy schema's pattern and the parser are both QUANTITY_PATTERN.
 */
import { Type } from '@sinclair/typebox';
import { ConfigError } from '../errors.js';

const SUFFIX: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The quantity grammar: digits, an optional fraction, an optional decimal or binary suffix. */
export const QUANTITY_PATTERN = '^([0-9]+(?:\\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$';
const QUANTITY = new RegExp(QUANTITY_PATTERN);

/** Kubernetes quantity (e.g. 300Mi, 1G, 1048576): the schema piece policy sections use. */
export const Quantity = Type.Union(
  [Type.Integer({ minimum: 0 }), Type.String({ pattern: QUANTITY_PATTERN })],
  {
    'x-kubernetes-int-or-string': true,
    description: 'Kubernetes quantity, e.g. 300Mi.',
  },
);

/** Bytes of a quantity, rounded up as Kubernetes does; throws POLICY_INVALID with `what` in the message. */
export function parseQuantity(value: string | number, what = 'quantity'): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0)
      throw new ConfigError('POLICY_INVALID', `${what}: ${value} is not a size`);
    return Math.ceil(value);
  }
  const m = QUANTITY.exec(value);
  if (m === null) {
    throw new ConfigError(
      'POLICY_INVALID',
      `${what}: "${value}" is not a Kubernetes quantity (e.g. 300Mi, 1Gi, 500M, 1048576)`,
    );
  }
  const bytes = Math.ceil(Number(m[1]) * SUFFIX[m[2] ?? '']!);
  // Beyond 2^53 bytes a limit loses precision that no image size can notice (1Ei is 2^60).
  if (!Number.isFinite(bytes)) throw new ConfigError('POLICY_INVALID', `${what}: "${value}" is too large`);
  return bytes;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** `512 B`, `3.4 KiB`, `812 MiB`, `1.2 GiB`. */
export function formatBytes(bytes: number): string {
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  const text = u === 0 || v >= 100 ? String(Math.round(v)) : v.toFixed(1).replace(/\.0$/, '');
  return `${text} ${UNITS[u]}`;
}
