/**
 * The topology picture: the world, the engine host and its uplink, networks with their bridges (or
 * macvlan parents, VXLAN devices), containers with each interface (name, IP, MAC) wired to its network
 * through its veth pair, published ports and legacy links, laid out by ELK (elkjs, layered) and drawn
 * as a self-contained SVG.
 *
 * Use: `await topologySvg(facts)` → SVG text. Every node is a `<g class="node" data-kind=… data-id=…>`
 * and every edge a `<g class="edge" data-kind=… data-from=… data-to=…>`, so pages and tests can find them.
 *
 * Beware: text widths are estimated for a 12px monospace font (no font metrics in Node).
 */
import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import type { AuditFacts } from './facts.js';

export type TopoNodeKind = 'world' | 'host' | 'network' | 'parent' | 'vxlan' | 'container' | 'port';
export type TopoEdgeKind = 'uplink' | 'bridge' | 'veth' | 'macvlan' | 'vxlan' | 'publish' | 'link';

export interface TopoNode {
  id: string;
  kind: TopoNodeKind;
  /** The container's or network's name, for pages and tests. */
  name: string;
  lines: string[];
}

export interface TopoEdge {
  id: string;
  kind: TopoEdgeKind;
  from: string;
  to: string;
  label?: string;
}

export interface TopoGraph {
  nodes: TopoNode[];
  edges: TopoEdge[];
}

/** The graph of the facts (no layout). */
export function topologyGraph(facts: AuditFacts): TopoGraph {
  const nodes: TopoNode[] = [];
  const edges: TopoEdge[] = [];
  const up = facts.host.uplink;
  nodes.push({ id: 'world', kind: 'world', name: 'world', lines: ['world', up ? `via ${up.gateway}` : '(no default route)'] });
  nodes.push({ id: 'host', kind: 'host', name: 'host', lines: ['engine host', ...(up ? [`${up.ifname} ${up.addr}`] : [])] });
  edges.push({ id: 'e-uplink', kind: 'uplink', from: 'world', to: 'host', label: up?.ifname ?? '' });
  for (const n of facts.networks) {
    if (n.kind === 'other' && !n.subnet) continue;
    const flags = [n.internal ? 'internal' : '', (n.kind === 'bridge' || n.kind === 'overlay') && !n.icc ? 'icc off' : ''].filter(Boolean).join(', ');
    const dev = n.bridge ?? (n.kind === 'macvlan' ? `macvlan ${n.macvlanMode ?? 'bridge'}` : n.driver);
    nodes.push({ id: `net-${n.id}`, kind: 'network', name: n.name, lines: [n.name, `${dev}`, ...(n.subnet ? [`${n.subnet} gw ${n.gateway ?? '-'}`] : []), ...(flags ? [flags] : [])] });
    if (n.kind === 'macvlan') {
      const pid = `parent-${n.parent ?? n.id}`;
      if (!nodes.some((x) => x.id === pid)) nodes.push({ id: pid, kind: 'parent', name: n.parent ?? '(none)', lines: [`parent ${n.parent ?? '(none)'}`] });
      edges.push({ id: `e-${n.id}-parent`, kind: 'macvlan', from: pid, to: `net-${n.id}` });
      edges.push({ id: `e-${n.id}-host`, kind: 'macvlan', from: 'host', to: pid, label: n.shim ? `shim ${n.shim.ifname} ${n.shim.addr}` : '' });
    } else if (n.vxlan) {
      const vid = `vxlan-${n.id}`;
      nodes.push({ id: vid, kind: 'vxlan', name: n.vxlan.ifname, lines: [`vxlan ${n.vxlan.ifname}`, `VNI ${n.vxlan.vni}`] });
      edges.push({ id: `e-${n.id}-vx`, kind: 'vxlan', from: 'host', to: vid });
      edges.push({ id: `e-${n.id}-vxnet`, kind: 'vxlan', from: vid, to: `net-${n.id}` });
    } else {
      edges.push({ id: `e-${n.id}-br`, kind: 'bridge', from: 'host', to: `net-${n.id}`, label: n.gateway ?? '' });
    }
  }
  for (const c of facts.containers.filter((x) => x.running)) {
    const cid = `ctr-${c.id}`;
    nodes.push({ id: cid, kind: 'container', name: c.name, lines: [c.name, c.image, ...c.endpoints.map((e) => `${e.ifname} ${e.ip}/${e.prefixLen} ${e.mac}`), ...(c.networkMode === 'host' ? ['host network'] : [])] });
    for (const e of c.endpoints) {
      edges.push({ id: `e-${c.id}-${e.networkId}`, kind: 'veth', from: `net-${e.networkId}`, to: cid, label: e.hostIfname ? `${e.hostIfname} ↔ ${e.ifname}` : e.ifname });
    }
    for (const p of c.published) {
      const pid = `port-${p.hostIp}-${p.hostPort}-${p.proto}`;
      nodes.push({ id: pid, kind: 'port', name: `${p.hostIp}:${p.hostPort}/${p.proto}`, lines: [`${p.hostIp}:${p.hostPort}/${p.proto}`] });
      edges.push({ id: `e-${pid}-host`, kind: 'publish', from: 'host', to: pid });
      edges.push({ id: `e-${pid}`, kind: 'publish', from: pid, to: cid, label: `→ ${p.containerPort}` });
    }
    for (const l of c.links) {
      const t = facts.containers.find((x) => x.name === l.target && x.running);
      if (t) edges.push({ id: `e-link-${c.id}-${t.id}`, kind: 'link', from: cid, to: `ctr-${t.id}`, label: `link ${l.alias}` });
    }
  }
  return { nodes, edges };
}

const CHAR = 7.3;
const LINE = 16;
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Node and edge ids as ELK and the SVG use them. */
export interface LaidOut {
  width: number;
  height: number;
  nodes: Array<TopoNode & { x: number; y: number; w: number; h: number }>;
  edges: Array<TopoEdge & { points: Array<{ x: number; y: number }> }>;
}

export async function layoutTopology(g: TopoGraph): Promise<LaidOut> {
  // A CommonJS module whose exports are the constructor, also set as its own `default`; loaded on the
  // first layout, not at every daemon start.
  const { default: elkModule } = await import('elkjs/lib/elk.bundled.js');
  const elk = new elkModule.default();
  const root: ElkNode = {
    id: 'root',
    layoutOptions: { 'elk.algorithm': 'layered', 'elk.direction': 'RIGHT', 'elk.spacing.nodeNode': '20', 'elk.layered.spacing.nodeNodeBetweenLayers': '70', 'elk.edgeRouting': 'ORTHOGONAL' },
    children: g.nodes.map((n) => ({ id: n.id, width: Math.ceil(Math.max(...n.lines.map((l) => l.length)) * CHAR + 20), height: n.lines.length * LINE + 12 })),
    edges: g.edges.map((e): ElkExtendedEdge => ({ id: e.id, sources: [e.from], targets: [e.to] })),
  };
  const out = await elk.layout(root);
  const pos = new Map((out.children ?? []).map((c) => [c.id, c]));
  const sections = new Map((out.edges ?? []).map((e) => [e.id, (e as ElkExtendedEdge).sections ?? []]));
  return {
    width: Math.ceil(out.width ?? 0) + 20,
    height: Math.ceil(out.height ?? 0) + 20,
    nodes: g.nodes.map((n) => {
      const p = pos.get(n.id);
      return { ...n, x: (p?.x ?? 0) + 10, y: (p?.y ?? 0) + 10, w: p?.width ?? 0, h: p?.height ?? 0 };
    }),
    edges: g.edges.map((e) => ({
      ...e,
      points: (sections.get(e.id) ?? []).flatMap((s) => [s.startPoint, ...(s.bendPoints ?? []), s.endPoint]).map((p) => ({ x: p.x + 10, y: p.y + 10 })),
    })),
  };
}

const FILL: Record<TopoNodeKind, string> = { world: '#eef6ff', host: '#f2f2f2', network: '#fff4e0', parent: '#f0e8ff', vxlan: '#e8fff4', container: '#e9f7e9', port: '#fff0f0' };
const STROKE: Record<TopoEdgeKind, string> = { uplink: '#555', bridge: '#c80', veth: '#393', macvlan: '#86c', vxlan: '#2a8', publish: '#c33', link: '#36c' };

export function renderSvg(l: LaidOut): string {
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${l.width}" height="${l.height}" viewBox="0 0 ${l.width} ${l.height}" font-family="monospace" font-size="12">`);
  out.push('<style>.edge polyline{fill:none;stroke-width:1.5}.edge.link polyline,.edge.publish polyline{stroke-dasharray:5 3}.node rect{stroke:#666;rx:4}.node.selected rect{stroke:#000;stroke-width:3}</style>');
  for (const e of l.edges) {
    if (e.points.length < 2) continue;
    const pts = e.points.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
    const mid = e.points[Math.floor(e.points.length / 2)] ?? { x: 0, y: 0 };
    out.push(`<g class="edge ${e.kind}" id="${esc(e.id)}" data-kind="${e.kind}" data-from="${esc(e.from)}" data-to="${esc(e.to)}"><polyline points="${pts}" stroke="${STROKE[e.kind]}"/>${e.label ? `<text x="${(mid.x + 4).toFixed(1)}" y="${(mid.y - 3).toFixed(1)}" fill="${STROKE[e.kind]}" font-size="10">${esc(e.label)}</text>` : ''}</g>`);
  }
  for (const n of l.nodes) {
    const text = n.lines.map((s, i) => `<text x="${n.x + 10}" y="${n.y + 18 + i * LINE}"${i === 0 ? ' font-weight="bold"' : ''}>${esc(s)}</text>`).join('');
    out.push(`<g class="node ${n.kind}" id="${esc(n.id)}" data-kind="${n.kind}" data-name="${esc(n.name)}"><title>${esc(n.lines.join('\n'))}</title><rect x="${n.x}" y="${n.y}" width="${n.w}" height="${n.h}" fill="${FILL[n.kind]}"/>${text}</g>`);
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

export async function topologySvg(facts: AuditFacts): Promise<string> {
  return renderSvg(await layoutTopology(topologyGraph(facts)));
}
