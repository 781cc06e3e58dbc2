/**
 * Elements and entries of a CEL value, nested ones included: what comparing it element by element
 * costs (cel-cost.ts's StepMeter.chargeCompare). Known sizes are kept in `sizes` (one map per
 * evaluation: the input does not change during it); a walk stops once past `room`, so measuring a
 * huge value costs no more than the budget it would exceed.
 */
export function deepSize(sizes: WeakMap<object, number>, room: number, v: unknown): number {
  if (typeof v !== 'object' || v === null) return 1;
  const known = sizes.get(v);
  if (known !== undefined) return known;
  let total = 0;
  const stack: unknown[] = [v];
  while (stack.length > 0 && total <= room) {
    const x = stack.pop();
    total += 1;
    if (typeof x !== 'object' || x === null) continue;
    const cached = sizes.get(x);
    if (cached !== undefined) total += cached - 1;
    else if (Array.isArray(x)) for (const e of x) stack.push(e);
    else if (x instanceof Map) for (const e of x.values()) stack.push(e);
    else if (!(x instanceof Date) && !ArrayBuffer.isView(x))
      for (const k in x) stack.push((x as Record<string, unknown>)[k]);
  }
  // a walk cut at the budget is not the size: not kept
  if (stack.length === 0) sizes.set(v, total);
  return total;
}
