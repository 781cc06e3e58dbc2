/**
 * `imagegate audit --output html`: one self-contained page (inline CSS and script, no external
 * assets, works offline). The summary on top; one table row per workload container, filterable by
 * namespace, policy and result; each row's explanations (every check's message) expandable. The rows
 * are rendered here, so the page reads without scripts; the script only filters.
 */
import type { AuditContainer, AuditReport, AuditWorkload } from '../cluster/result.js';

const esc = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1d2430;background:#fff}
h1{font-size:20px;margin:0 0 4px}.meta{color:#5b6678;margin-bottom:16px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:16px}
.card{border:1px solid #d6dbe3;border-radius:6px;padding:10px 14px;min-width:120px}
.card b{display:block;font-size:22px}.card.fail b{color:#b3261e}.card.warn b{color:#9a6700}
.card.error b{color:#6b4fbb}.card.pass b{color:#1a7f37}
.roll{display:flex;flex-wrap:wrap;gap:24px;margin-bottom:16px}.roll table{border-collapse:collapse}
.roll td,.roll th{padding:2px 8px;border-bottom:1px solid #eef0f3;text-align:left}
.filters{display:flex;gap:12px;align-items:center;margin:8px 0 12px;flex-wrap:wrap}
select,input{font:inherit;padding:3px 6px}
table.rows{border-collapse:collapse;width:100%}
table.rows th{background:#f3f5f8;text-align:left;padding:6px 8px;border-bottom:1px solid #d6dbe3}
table.rows td{padding:6px 8px;border-bottom:1px solid #eef0f3;vertical-align:top}
td.image{font-family:ui-monospace,monospace;word-break:break-all}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-weight:600;font-size:12px}
.badge.pass{background:#dafbe1;color:#1a7f37}.badge.fail{background:#ffebe9;color:#b3261e}
.badge.warn{background:#fff8c5;color:#9a6700}.badge.error{background:#eee6ff;color:#6b4fbb}
details summary{cursor:pointer;color:#0b5cad}details ul{margin:4px 0;padding-left:18px}
li.bad{color:#b3261e}li.err{color:#6b4fbb}li.ok{color:#1a7f37}
.empty{color:#5b6678;padding:12px}`;

const SCRIPT = `
(function(){
  var rows=[].slice.call(document.querySelectorAll('tr[data-ns]'));
  var f={ns:document.getElementById('f-ns'),policy:document.getElementById('f-policy'),
    result:document.getElementById('f-result'),text:document.getElementById('f-text')};
  var shown=document.getElementById('shown');
  function apply(){
    var n=0,t=f.text.value.toLowerCase();
    rows.forEach(function(r){
      var ok=(!f.ns.value||r.dataset.ns===f.ns.value)&&
        (!f.policy.value||(' '+r.dataset.policies+' ').indexOf(' '+f.policy.value+' ')>=0)&&
        (!f.result.value||r.dataset.result===f.result.value)&&
        (!t||r.textContent.toLowerCase().indexOf(t)>=0);
      r.hidden=!ok; if(ok) n++;
    });
    shown.textContent=n+' of '+rows.length+' rows shown';
  }
  // Filters from the address (#ns=shop&result=fail), so a filtered view can be shared as a link.
  new URLSearchParams(location.hash.slice(1)).forEach(function(v,k){if(f[k])f[k].value=v;});
  ['ns','policy','result','text'].forEach(function(k){f[k].addEventListener('input',function(){
    apply();
    var q=new URLSearchParams();
    ['ns','policy','result','text'].forEach(function(n){if(f[n].value)q.set(n,f[n].value);});
    history.replaceState(null,'','#'+q.toString());
  });});
  apply();
  document.body.dataset.ready='true';
})();`;

function options(values: Iterable<string>, all: string): string {
  return [
    `<option value="">${esc(all)}</option>`,
    ...[...values].map((v) => `<option>${esc(v)}</option>`),
  ].join('');
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
  const policies = c.image.policies.map((p) => p.policy).join(' ');
  const digest = c.image.digest !== undefined ? `<br><small>${esc(c.image.digest)}</small>` : '';
  return (
    `<tr data-ns="${esc(ns)}" data-policies="${esc(policies)}" data-result="${c.image.outcome}">` +
    `<td>${esc(ns)}</td><td>${esc(w.kind)}/${esc(w.name)}<br><small>${w.pods} pod${w.pods === 1 ? '' : 's'}</small></td>` +
    `<td>${esc(c.name)}</td><td class="image">${esc(c.image.image)}${digest}</td>` +
    `<td><span class="badge ${c.image.outcome}">${c.image.outcome}</span></td><td>${esc(c.image.admission)}</td>` +
    `<td>${esc(policies)}</td><td>${explanations(c)}</td></tr>`
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
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>imagegate audit — ${esc(report.generatedAt)}</title><style>${STYLE}</style></head>
<body>
<h1>imagegate audit</h1>
<div class="meta">generated ${esc(report.generatedAt)} in ${Math.round(report.durationMs)} ms · namespaces: ${esc(
    report.scope.namespaces === 'all' ? 'all' : report.scope.namespaces.join(', '),
  )} · policies: ${esc(report.scope.policies.join(', ') || '(none)')} · unmatched: ${esc(report.scope.unmatched)}</div>
<section id="summary" class="cards">
${card('', s.workloads, 'workloads')}${card('', s.containers, 'containers')}${card('', s.evaluations, 'image evaluations')}
${card('fail', s.wouldDeny, 'would be denied')}${card('fail', s.workloadOutcomes.fail, 'fail')}${card('warn', s.workloadOutcomes.warn, 'warn')}${card('error', s.workloadOutcomes.error, 'error')}${card('pass', s.workloadOutcomes.pass, 'pass')}
</section>
<section class="roll">${rollup('per policy (containers)', s.byPolicy)}${rollup('per check (findings)', s.byCheck)}${rollup('per namespace (workloads)', s.byNamespace)}</section>
<div class="filters">
<label>namespace <select id="f-ns">${options(
    report.namespaces.map((n) => n.name),
    'all namespaces',
  )}</select></label>
<label>policy <select id="f-policy">${options(policies, 'all policies')}</select></label>
<label>result <select id="f-result">${options(['fail', 'warn', 'error', 'pass'], 'all results')}</select></label>
<label>search <input id="f-text" type="search" placeholder="image, workload…"></label>
<span id="shown">${rows.length} rows</span>
</div>
<table class="rows"><thead><tr><th>namespace</th><th>workload</th><th>container</th><th>image</th><th>result</th><th>admission</th><th>policies</th><th>explanation</th></tr></thead>
<tbody>${rows.join('\n') || '<tr><td colspan="8" class="empty">no workloads found</td></tr>'}</tbody></table>
<script>${SCRIPT}</script>
</body></html>
`;
}
