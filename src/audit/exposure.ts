/**
 * The exposure report: every published port with its host address and protocol and who reaches it
 * (the world, the host, which containers), and flags for what deserves a second look: publishing on
 * every address (0.0.0.0), ports on 127.0.0.1 (shown with the CVE-2020-8558 guard's verdict),
 * containers that are privileged, have NET_ADMIN or share the host's network, internal networks.
 *
 * Use: `computeExposure(facts, ruleset, matrix)`.
 */
import type { AuditFacts } from './facts.js';
import { auditedContainers, containerToPublished, loopbackFromOutside, type Matrix, type Verdict } from './matrix.js';
import type { Ruleset } from './nft/ruleset.js';
import type { Reason } from './reasons.js';

export interface Reach {
  verdict: Verdict | 'partial';
  reason: Reason;
  detail: string;
}

export interface ExposedPort {
  container: string;
  network: string;
  proto: string;
  containerPort: number;
  hostIp: string;
  hostPort: number;
  world: Reach | null;
  host: Reach | null;
  /** Containers that reach the port through the host's address. */
  containers: string[];
  flags: string[];
}

export interface Exposure {
  ports: ExposedPort[];
  containers: Array<{ name: string; flags: string[] }>;
  networks: Array<{ name: string; flags: string[] }>;
}

const pick = (c: { verdict: Reach['verdict']; reason: Reason; detail: string } | undefined): Reach | null => (c ? { verdict: c.verdict, reason: c.reason, detail: c.detail } : null);

export function computeExposure(facts: AuditFacts, rs: Ruleset, m: Matrix): Exposure {
  const ports: ExposedPort[] = [];
  const cs = auditedContainers(facts);
  for (const c of cs) {
    for (const p of c.published) {
      const via = `${p.hostIp}:${p.hostPort}/${p.proto}`;
      const find = (kind: string): Reach | null => pick(m.cells.find((x) => x.kind === kind && x.to.kind === 'container' && x.to.id === c.id && x.via === via));
      const flags: string[] = [];
      if (p.hostIp === '0.0.0.0') flags.push('all-addresses');
      if (p.hostIp.startsWith('127.')) {
        const cve = loopbackFromOutside(facts, rs, p);
        flags.push(cve.verdict === 'allowed' ? 'loopback: CVE-2020-8558 OPEN' : `loopback: CVE-2020-8558 blocked (${cve.reason})`);
      }
      const net = c.endpoints.find((e) => e.ip === p.containerIp)?.network ?? '';
      const reachers = cs.filter((s) => s.id !== c.id && containerToPublished(facts, rs, s, p).verdict === 'allowed').map((s) => s.name);
      ports.push({ container: c.name, network: net, proto: p.proto, containerPort: p.containerPort, hostIp: p.hostIp, hostPort: p.hostPort, world: find('world-published'), host: find('host-published'), containers: reachers, flags });
    }
  }
  const containers = facts.containers
    .filter((c) => c.running)
    .map((c) => {
      const flags: string[] = [];
      if (c.privileged) flags.push('privileged');
      if (c.capAdd.includes('NET_ADMIN') || c.capAdd.includes('ALL')) flags.push('NET_ADMIN');
      if (c.networkMode === 'host') flags.push('host network');
      return { name: c.name, flags };
    })
    .filter((c) => c.flags.length > 0);
  const networks = facts.networks
    .map((n) => {
      const flags: string[] = [];
      if (n.internal) flags.push('internal');
      if ((n.kind === 'bridge' || n.kind === 'overlay') && !n.icc) flags.push('icc off');
      if (n.kind === 'macvlan') flags.push(`macvlan on ${n.parent ?? '(no parent)'}`);
      return { name: n.name, flags };
    })
    .filter((n) => n.flags.length > 0);
  return { ports, containers, networks };
}
