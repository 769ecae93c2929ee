/**
 * The live topology page served by redesd at `/redes/ui`: it shows `/redes/topology.svg`, listens to
 * `/redes/ui/events` (server-sent events: `change` whenever containers or networks change) and
 * redraws, and on a click on a container shows its reachability row from `/redes/audit`.
 *
 * Use: the API serves `UI_PAGE` as text/html. Self-contained: no external script, font or style.
 *
 * Beware: the page uses relative-to-root paths, so it works on the unix socket through any proxy that
 * keeps paths, and on the TLS TCP listener alike.
 */
export const UI_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>redes topology</title>
<style>
body { font: 13px/1.4 monospace; margin: 0; display: flex; height: 100vh; }
#topo { flex: 3; overflow: auto; border-right: 1px solid #ccc; }
#side { flex: 1; min-width: 360px; overflow: auto; padding: 8px 12px; }
#topo .node.container { cursor: pointer; }
table { border-collapse: collapse; width: 100%; }
td, th { border-bottom: 1px solid #eee; padding: 2px 6px; text-align: left; vertical-align: top; }
.allowed { color: #170; } .denied { color: #b00; } .partial { color: #a60; } .unknown { color: #666; }
#status { color: #666; }
</style>
</head>
<body>
<div id="topo" aria-label="topology"></div>
<div id="side">
  <h3>redes</h3>
  <p id="status">loading…</p>
  <h4 id="row-title">Click a container to see what it reaches</h4>
  <table id="row"><thead><tr><th>to</th><th>via</th><th>verdict</th><th>reason</th></tr></thead><tbody></tbody></table>
</div>
<script>
let report = null;
let selected = null;
let version = 0;
const peer = (p) => p.kind === 'container' ? (p.node ? p.name + '@' + p.node : p.name) : p.kind;

async function refresh() {
  const my = ++version;
  const [svg, audit] = await Promise.all([
    fetch('/redes/topology.svg').then((r) => r.text()),
    fetch('/redes/audit').then((r) => r.json()),
  ]);
  if (my !== version) return;
  report = audit;
  document.getElementById('topo').innerHTML = svg;
  for (const g of document.querySelectorAll('#topo .node.container')) {
    g.addEventListener('click', () => select(g.dataset.name));
  }
  const n = report.facts.containers.filter((c) => c.running).length;
  document.getElementById('status').textContent = n + ' running containers, ' + report.facts.networks.length + ' networks; updated ' + new Date().toLocaleTimeString();
  document.body.dataset.version = String(my);
  if (selected) select(selected);
}

function select(name) {
  selected = name;
  for (const g of document.querySelectorAll('#topo .node')) g.classList.toggle('selected', g.dataset.kind === 'container' && g.dataset.name === name);
  document.getElementById('row-title').textContent = 'What ' + name + ' reaches';
  const body = document.querySelector('#row tbody');
  body.innerHTML = '';
  const cells = report ? report.matrix.cells.filter((c) => c.from.kind === 'container' && c.from.name === name) : [];
  for (const c of cells) {
    const tr = document.createElement('tr');
    tr.dataset.to = peer(c.to);
    tr.dataset.verdict = c.verdict;
    for (const [text, cls] of [[peer(c.to), ''], [c.via, ''], [c.verdict, c.verdict], [c.reason, '']]) {
      const td = document.createElement('td');
      td.textContent = text;
      if (cls) td.className = cls;
      if (text === c.reason) td.title = c.detail;
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
}

const events = new EventSource('/redes/ui/events');
events.addEventListener('change', () => refresh());
refresh();
</script>
</body>
</html>
`;
