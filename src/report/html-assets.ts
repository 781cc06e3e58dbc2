/** The audit page's inline style and script (src/report/html.ts): no external assets, works offline. */

export const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1d2430;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:20px 0 8px}.meta{color:#5b6678;margin-bottom:16px}
.meta b{color:#1d2430}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:16px}
.card{border:1px solid #d6dbe3;border-radius:6px;padding:10px 14px;min-width:120px}
.card b{display:block;font-size:22px}.card.fail b{color:#b3261e}.card.warn b{color:#9a6700}
.card.error b{color:#6b4fbb}.card.pass b{color:#1a7f37}
.roll{display:flex;flex-wrap:wrap;gap:24px;margin-bottom:16px}.roll table{border-collapse:collapse}
.roll td,.roll th{padding:2px 8px;border-bottom:1px solid #eef0f3;text-align:left}
.filters{display:flex;gap:12px;align-items:center;margin:8px 0 12px;flex-wrap:wrap}
select,input,button{font:inherit;padding:3px 6px}
#impact{margin:0 0 12px;padding:8px 12px;border-left:4px solid #b3261e;background:#fff5f4}
#impact[hidden]{display:none}
table.rows{border-collapse:collapse;width:100%;table-layout:fixed}
table.rows th{background:#f3f5f8;text-align:left;padding:6px 8px;border-bottom:1px solid #d6dbe3}
table.rows td{padding:6px 8px;border-bottom:1px solid #eef0f3;vertical-align:top;overflow-wrap:anywhere}
col.c-ns{width:7%}col.c-wl{width:12%}col.c-ct{width:8%}col.c-img{width:20%}col.c-res{width:6%}
col.c-sev{width:6%}col.c-adm{width:7%}col.c-pol{width:8%}col.c-why{width:26%}
td.image{font-family:ui-monospace,monospace;font-size:12.5px;word-break:break-all}
td.image small{color:#5b6678}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-weight:600;font-size:12px}
.badge.pass{background:#dafbe1;color:#1a7f37}.badge.fail{background:#ffebe9;color:#b3261e}
.badge.warn{background:#fff8c5;color:#9a6700}.badge.error{background:#eee6ff;color:#6b4fbb}
.sev-critical,.sev-high{color:#b3261e;font-weight:600}.sev-medium{color:#9a6700}.sev-low,.sev-info{color:#5b6678}
details summary{cursor:pointer;color:#0b5cad}details ul{margin:4px 0;padding-left:16px}
details li{overflow-wrap:anywhere}
li.bad{color:#b3261e}li.err{color:#6b4fbb}li.ok{color:#1a7f37}
.empty{color:#5b6678;padding:12px}
@media (max-width:1100px){
  table.rows,table.rows tbody,table.rows tr,table.rows td{display:block;width:auto}
  table.rows colgroup,table.rows thead{display:none}
  table.rows tr{border:1px solid #d6dbe3;border-radius:6px;margin-bottom:10px;padding:4px 0}
  table.rows tr[hidden]{display:none}
  table.rows td{border:0;padding:2px 10px}
  table.rows td::before{content:attr(data-label) ": ";color:#5b6678;font-weight:600}
  table.rows td[data-label="why"]::before{content:none}
}`;

export const SCRIPT = `
(function(){
  var rows=[].slice.call(document.querySelectorAll('tr[data-ns]'));
  var keys=['ns','policy','result','severity','enforce','text'];
  var f={};keys.forEach(function(k){f[k]=document.getElementById('f-'+k);});
  var shown=document.getElementById('shown'),impact=document.getElementById('impact');
  function has(list,v){return (' '+list+' ').indexOf(' '+v+' ')>=0;}
  function visible(){return rows.filter(function(r){return !r.hidden;});}
  function apply(){
    var n=0,t=f.text.value.toLowerCase(),wl={},ns={};
    rows.forEach(function(r){
      var ok=(!f.ns.value||r.dataset.ns===f.ns.value)&&
        (!f.policy.value||has(r.dataset.policies,f.policy.value))&&
        (!f.result.value||r.dataset.result===f.result.value)&&
        (!f.severity.value||r.dataset.severity===f.severity.value)&&
        (!f.enforce.value||has(r.dataset.fails,f.enforce.value))&&
        (!t||r.textContent.toLowerCase().indexOf(t)>=0);
      r.hidden=!ok; if(ok){n++;wl[r.dataset.ns+'/'+r.dataset.workload]=1;ns[r.dataset.ns]=1;}
    });
    shown.textContent=n+' of '+rows.length+' rows shown';
    impact.hidden=!f.enforce.value;
    if(f.enforce.value) impact.textContent='Enforcing policy '+f.enforce.value+' alone would deny '+
      Object.keys(wl).length+' workload(s) ('+n+' container(s)) in '+Object.keys(ns).length+' namespace(s).';
  }
  function save(name,type,text){
    var a=document.createElement('a');
    a.href=URL.createObjectURL(new Blob([text],{type:type}));a.download=name;
    document.body.appendChild(a);a.click();a.remove();
  }
  function data(){return visible().map(function(r){return JSON.parse(r.dataset.row);});}
  var COLS=['namespace','workload','container','containerType','image','digest','result','severity','admission','failingPolicies','policies','reasons'];
  function csvCell(v){v=Array.isArray(v)?v.join('; '):(v==null?'':String(v));
    return /[",\\n\\r]/.test(v)?'"'+v.replace(/"/g,'""')+'"':v;}
  window.imagegateExport={
    json:function(){return JSON.stringify(data(),null,2);},
    csv:function(){return [COLS.join(',')].concat(data().map(function(d){
      return COLS.map(function(c){return csvCell(d[c]);}).join(',');})).join('\\r\\n')+'\\r\\n';}
  };
  document.getElementById('x-json').addEventListener('click',function(){
    save('imagegate-audit.json','application/json',window.imagegateExport.json());});
  document.getElementById('x-csv').addEventListener('click',function(){
    save('imagegate-audit.csv','text/csv',window.imagegateExport.csv());});
  // Filters from the address (#ns=shop&result=fail), so a filtered view can be shared as a link.
  // #why=open expands every explanation (for reading or printing the whole page).
  new URLSearchParams(location.hash.slice(1)).forEach(function(v,k){
    if(f[k])f[k].value=v;
    if(k==='why'&&v==='open')[].forEach.call(document.querySelectorAll('details'),function(d){d.open=true;});
  });
  keys.forEach(function(k){f[k].addEventListener('input',function(){
    apply();
    var q=new URLSearchParams();
    keys.forEach(function(n){if(f[n].value)q.set(n,f[n].value);});
    history.replaceState(null,'','#'+q.toString());
  });});
  apply();
  document.body.dataset.ready='true';
})();`;
