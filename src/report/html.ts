/**
 * `imagegate audit --output html`: one self-contained page (inline CSS and script, no external
 * assets, works offline) for the decision "can I switch this policy to enforce?". On top: which
 * cluster and context, when, the summary. Then one row per workload container with its result, the
 * highest severity among its failures, what admission does, the policies that fail it and each check's
 * explanation (expandable); filters by namespace, policy, result and severity; "enforce policy X" shows
 * the workloads that policy alone would deny; the filtered rows export as CSV or JSON. Below: the
 * exempted images (no ImagePolicy governs them). Rows are rendered here, so the page reads without
 * scripts; the script only filters and exports.
 */
import type { AuditContainer, AuditReport, AuditWorkload } from '../cluster/result.js';
import type { PolicySeverity } from '../policy/policy.schema.js';
import { SCRIPT, STYLE } from './html-assets.js';
import { DEFAULT_SEVERITY } from './results.js';

const esc = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

const SEVERITY_ORDER: readonly PolicySeverity[] = ['critical', 'high', 'medium', 'low', 'info'];
const CONTAINER_LABEL: Record<AuditContainer['field'], string> = {
  containers: 'container',
  initContainers: 'init container',
  ephemeralContainers: 'ephemeral container',
  volumes: 'image volume',
};

function options(values: Iterable<string>, all: string): string {
  return [
    `<option value="">${esc(all)}</option>`,
    ...[...values].map((v) => `<option>${esc(v)}</option>`),
  ].join('');
}

/** Policies that fail the image (their own result), in the image's order. */
const failingPolicies = (c: AuditContainer): string[] =>
  c.image.policies.filter((p) => p.result === 'fail').map((p) => p.policy);

/** The highest severity among the image's failed findings (the policy's, else the check's default). */
function severityOf(c: AuditContainer): PolicySeverity | undefined {
  const found = new Set<PolicySeverity>();
  if (c.image.invalid !== undefined) found.add(DEFAULT_SEVERITY.reference ?? 'medium');
  if (c.image.unmatched === 'deny' || c.image.unmatched === 'audit')
    found.add(DEFAULT_SEVERITY.unmatched ?? 'medium');
  for (const p of c.image.policies)
    for (const f of p.findings)
      if (!f.passed)
        found.add(p.severity ?? DEFAULT_SEVERITY[f.check === 'resolve' ? 'registry' : f.check] ?? 'medium');
  return SEVERITY_ORDER.find((s) => found.has(s));
}

function explanations(c: AuditContainer): string {
  const items: string[] = [];
  const i = c.image;
  if (i.invalid !== undefined) items.push(`<li class="bad">${esc(i.invalid.message)}</li>`);
  if (i.unmatched !== undefined)
    items.push(`<li>no ImagePolicy governs this image (unmatched: ${esc(i.unmatched)})</li>`);
  for (const p of i.policies) {
    items.push(
      `<li><b>policy ${esc(p.policy)}</b> (${esc(p.mode)}, onError ${esc(p.onError)}): ${esc(p.result)}<ul>`,
    );
    for (const f of p.findings) {
      const cls = f.passed ? 'ok' : f.indeterminate === true ? 'err' : 'bad';
      items.push(`<li class="${cls}">${esc(f.check)} [${esc(f.code)}]: ${esc(f.message)}</li>`);
    }
    if (p.findings.length === 0) items.push('<li>(no checks configured)</li>');
    items.push('</ul></li>');
  }
  for (const r of i.reasons) if (r.startsWith('not checked')) items.push(`<li class="err">${esc(r)}</li>`);
  if (items.length === 0) return '';
  return `<details><summary>why</summary><ul>${items.join('')}</ul></details>`;
}

function row(ns: string, w: AuditWorkload, c: AuditContainer): string {
  const policies = c.image.policies.map((p) => p.policy);
  const fails = failingPolicies(c);
  const severity = severityOf(c);
  const workload = `${w.kind}/${w.name}`;
  const exported = {
    namespace: ns,
    workload,
    container: c.name,
    containerType: CONTAINER_LABEL[c.field],
    image: c.image.image,
    digest: c.image.digest ?? '',
    result: c.image.outcome,
    severity: severity ?? '',
    admission: c.image.admission,
    failingPolicies: fails,
    policies,
    reasons: c.image.reasons,
  };
  const digest = c.image.digest !== undefined ? `<br><small>${esc(c.image.digest)}</small>` : '';
  const kind = c.field === 'containers' ? '' : `<br><small>${CONTAINER_LABEL[c.field]}</small>`;
  const cell = (label: string, html: string, cls = ''): string =>
    `<td data-label="${label}"${cls !== '' ? ` class="${cls}"` : ''}>${html}</td>`;
  return (
    `<tr data-ns="${esc(ns)}" data-workload="${esc(workload)}" data-policies="${esc(policies.join(' '))}" ` +
    `data-fails="${esc(fails.join(' '))}" data-severity="${severity ?? ''}" data-result="${c.image.outcome}" ` +
    `data-row="${esc(JSON.stringify(exported))}">` +
    cell('namespace', esc(ns)) +
    cell('workload', `${esc(workload)}<br><small>${w.pods} pod${w.pods === 1 ? '' : 's'}</small>`) +
    cell('container', `${esc(c.name)}${kind}`) +
    cell('image', `${esc(c.image.image)}${digest}`, 'image') +
    cell('result', `<span class="badge ${c.image.outcome}">${c.image.outcome}</span>`) +
    cell('severity', severity !== undefined ? `<span class="sev-${severity}">${severity}</span>` : '—') +
    cell('admission', esc(c.image.admission)) +
    cell('failing policies', esc(fails.join(', ')) || '—') +
    cell('why', explanations(c)) +
    '</tr>'
  );
}

function rollup(title: string, data: Record<string, Record<string, number>>): string {
  const keys = Object.keys(data);
  if (keys.length === 0) return '';
  const cols = Object.keys(data[keys[0]!] ?? {});
  return (
    `<table><caption><b>${esc(title)}</b></caption><tr><th></th>${cols.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>` +
    keys
      .map((k) => `<tr><td>${esc(k)}</td>${cols.map((c) => `<td>${data[k]?.[c] ?? 0}</td>`).join('')}</tr>`)
      .join('') +
    '</table>'
  );
}

/** Images no ImagePolicy governs (excluded by a policy's namespaces or images, or never named). */
function exempted(report: AuditReport): string {
  const items: string[] = [];
  for (const ns of report.namespaces)
    for (const w of ns.workloads)
      for (const c of w.containers)
        if (c.image.unmatched !== undefined)
          items.push(
            `<tr><td>${esc(ns.name)}</td><td>${esc(w.kind)}/${esc(w.name)}</td><td>${esc(c.name)}</td>` +
              `<td class="image">${esc(c.image.image)}</td><td>unmatched: ${esc(c.image.unmatched)}` +
              `${c.image.reasons.length > 0 ? `<br><small>${esc(c.image.reasons.join('; '))}</small>` : ''}</td></tr>`,
          );
  const body =
    items.length > 0
      ? `<table class="rows"><colgroup><col class="c-ns"><col class="c-wl"><col class="c-ct"><col class="c-img"><col></colgroup>` +
        `<thead><tr><th>namespace</th><th>workload</th><th>container</th><th>image</th><th>why exempt</th></tr></thead><tbody>${items.join('')}</tbody></table>`
      : '<p class="empty">none: every image is governed by an ImagePolicy</p>';
  return `<h2 id="exempted">Exempted images (${items.length})</h2><p class="meta">No ImagePolicy governs these images here: a policy's <code>namespaces</code> or <code>exclude</code> leaves them out, or none names them. The unmatched rule (${esc(report.scope.unmatched)}) decides them, not any policy's enforce switch.</p>${body}`;
}

export function toAuditHtml(report: AuditReport): string {
  const s = report.summary;
  const rows: string[] = [];
  const policies = new Set<string>();
  for (const ns of report.namespaces)
    for (const w of ns.workloads)
      for (const c of w.containers) {
        rows.push(row(ns.name, w, c));
        for (const p of c.image.policies) policies.add(p.policy);
      }
  const card = (cls: string, n: number, label: string): string =>
    `<div class="card ${cls}"><b>${n}</b>${esc(label)}</div>`;
  const where =
    report.cluster !== undefined
      ? `cluster <b>${esc(report.cluster.context)}</b> (${esc(report.cluster.server)}) · `
      : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>imagegate audit — ${esc(report.cluster?.context ?? '')} ${esc(report.generatedAt)}</title><style>${STYLE}</style></head>
<body>
<h1>imagegate audit</h1>
<div class="meta">${where}generated <b>${esc(report.generatedAt)}</b> in ${Math.round(report.durationMs)} ms · namespaces: ${esc(
    report.scope.namespaces === 'all' ? 'all' : report.scope.namespaces.join(', '),
  )} · policies: ${esc(report.scope.policies.join(', ') || '(none)')} · unmatched: ${esc(report.scope.unmatched)}</div>
<section id="summary" class="cards">
${card('', s.workloads, 'workloads')}${card('', s.containers, 'containers')}${card('', s.evaluations, 'image evaluations')}
${card('fail', s.wouldDeny, 'would be denied')}${card('fail', s.workloadOutcomes.fail, 'fail')}${card('warn', s.workloadOutcomes.warn, 'warn')}${card('error', s.workloadOutcomes.error, 'error')}${card('warn', s.workloadOutcomes.skip, 'exempted (skip)')}${card('pass', s.workloadOutcomes.pass, 'pass')}
</section>
<section class="roll">${rollup('per policy (containers)', s.byPolicy)}${rollup('per check (findings)', s.byCheck)}${rollup('per namespace (workloads)', s.byNamespace)}</section>
<div class="filters">
<label>enforce policy <select id="f-enforce">${options(policies, '(what breaks if I enforce…)')}</select></label>
<label>namespace <select id="f-ns">${options(
    report.namespaces.map((n) => n.name),
    'all namespaces',
  )}</select></label>
<label>policy <select id="f-policy">${options(policies, 'all policies')}</select></label>
<label>result <select id="f-result">${options(['fail', 'warn', 'error', 'skip', 'pass'], 'all results')}</select></label>
<label>severity <select id="f-severity">${options(SEVERITY_ORDER, 'any severity')}</select></label>
<label>search <input id="f-text" type="search" placeholder="image, workload…"></label>
<button id="x-csv" type="button">export CSV</button><button id="x-json" type="button">export JSON</button>
<span id="shown">${rows.length} rows</span>
</div>
<p id="impact" hidden></p>
<table class="rows"><colgroup><col class="c-ns"><col class="c-wl"><col class="c-ct"><col class="c-img"><col class="c-res"><col class="c-sev"><col class="c-adm"><col class="c-pol"><col class="c-why"></colgroup>
<thead><tr><th>namespace</th><th>workload</th><th>container</th><th>image</th><th>result</th><th>severity</th><th>admission</th><th>failing policies</th><th>why</th></tr></thead>
<tbody>${rows.join('\n') || '<tr><td colspan="9" class="empty">no workloads found</td></tr>'}</tbody></table>
${exempted(report)}
<script>${SCRIPT}</script>
</body></html>
`;
}
