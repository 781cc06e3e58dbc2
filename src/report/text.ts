/** `imagegate audit --output text`: a terminal table, the reasons under each failing row, a summary. */
import type { AuditReport } from '../cluster/result.js';

const MARK = { pass: '✓', fail: '✗', warn: '!', error: '?', skip: '~' } as const;

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

export function toAuditText(report: AuditReport): string {
  // The EXCEPTION column: when exceptions are loaded (report.exceptions), which let this image through.
  const withExceptions = report.exceptions !== undefined;
  const rows: string[][] = [
    [
      'NAMESPACE',
      'WORKLOAD',
      'CONTAINER',
      'IMAGE',
      'RESULT',
      'ADMISSION',
      ...(withExceptions ? ['EXCEPTION'] : []),
    ],
  ];
  const details: string[] = [];
  for (const ns of report.namespaces)
    for (const w of ns.workloads)
      for (const c of w.containers) {
        const image = c.image;
        rows.push([
          ns.name,
          `${w.kind}/${w.name}`,
          c.name,
          image.image,
          `${MARK[image.outcome]} ${image.outcome}`,
          image.admission,
          ...(withExceptions ? [image.exceptions?.join(',') ?? '-'] : []),
        ]);
        if (image.outcome === 'pass') continue;
        details.push(`${ns.name} ${w.kind}/${w.name} ${c.name}: ${image.image}`);
        for (const p of image.policies)
          for (const f of p.findings)
            if (!f.passed)
              details.push(
                `  policy ${p.policy} (${p.mode}) ${f.check} [${f.code}]${f.indeterminate === true ? ' (not completed)' : ''}${f.exemptedBy !== undefined ? ` (exempted by ${f.exemptedBy.exception} until ${f.exemptedBy.expires}: ${f.exemptedBy.reason})` : ''}: ${f.message}`,
              );
        if (image.invalid !== undefined) details.push(`  ${image.invalid.message}`);
        if (image.unmatched !== undefined)
          details.push(`  no ImagePolicy governs this image (unmatched: ${image.unmatched})`);
        for (const r of image.reasons) if (r.startsWith('not checked')) details.push(`  ${r}`);
      }
  const s = report.summary;
  const out = rows.length > 1 ? table(rows) : ['no workloads found'];
  if (details.length > 0) out.push('', ...details);
  const counts = (c: Record<string, number>): string =>
    Object.entries(c)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
  out.push(
    '',
    `summary: ${s.workloads} workloads in ${s.namespaces} namespaces, ${s.containers} containers, ${s.evaluations} image evaluations`,
    `  workloads: ${counts(s.workloadOutcomes)}; would be denied: ${s.wouldDeny}`,
  );
  for (const [policy, c] of Object.entries(s.byPolicy)) out.push(`  policy ${policy}: ${counts(c)}`);
  for (const [check, c] of Object.entries(s.byCheck)) out.push(`  check ${check}: ${counts(c)}`);
  for (const [ns, c] of Object.entries(s.byNamespace)) out.push(`  namespace ${ns}: ${counts(c)}`);
  for (const e of report.exceptions ?? []) {
    if (e.phase === 'Active' && !e.expiringSoon) continue;
    const what = e.expiringSoon ? `expires soon (${e.expires})` : e.phase.toLowerCase();
    out.push(`  exception ${e.exception} ${what}: ${e.phase === 'Invalid' ? e.message : e.reason}`);
  }
  out.push(
    s.wouldDeny === 0
      ? 'result: nothing running would be denied'
      : `result: ${s.wouldDeny} workload${s.wouldDeny === 1 ? '' : 's'} would be denied`,
  );
  return `${out.join('\n')}\n`;
}

export function toAuditJson(report: AuditReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
