/**
 * What a legacy link (`--link target:alias` on the default bridge) gives the linking container, as
 * Docker writes it: the environment variables of moby's `links.Link.ToEnv` and the /etc/hosts line.
 * Pure functions, so the exact texts are tested without containers.
 *
 * Beware: the order of the variables is Docker's (default port, port ranges, every port, name, the
 * target's own environment without HOME and PATH); port ranges are grouped by number only, as there.
 */

export interface LinkTarget {
  /** Without the leading '/'. */
  name: string;
  hostname: string;
  ipv4: string;
  ipv6?: string;
  env: readonly string[];
  /** Docker's Config.ExposedPorts keys: "80/tcp", "53/udp". */
  exposedPorts: readonly string[];
}

interface Port {
  num: number;
  proto: string;
}

/** `name:alias` or `name` (alias = name), leading '/' dropped; Docker's `opts.ParseLink`. */
export function parseLink(spec: string): { name: string; alias: string } | undefined {
  const parts = spec.split(':');
  if (parts.length > 2 || !parts[0]) return undefined;
  const name = parts[0].replace(/^\//, '');
  const alias = (parts[1] ?? name).replace(/^\//, '');
  return name && alias ? { name, alias } : undefined;
}

function sortedPorts(exposed: readonly string[]): Port[] {
  const ports = exposed.map((k) => {
    const [n = '', proto = 'tcp'] = k.split('/');
    return { num: Number(n), proto: proto.toLowerCase() };
  }).filter((p) => Number.isInteger(p.num) && p.num > 0);
  return ports.sort((a, b) => a.num - b.num || (a.proto === 'tcp' ? -1 : b.proto === 'tcp' ? 1 : 0));
}

function nextContiguous(ports: Port[], value: number, index: number): number {
  if (index + 1 === ports.length) return index;
  for (let i = index + 1; i < ports.length; i++) {
    if ((ports[i] as Port).num > value + 1) return i - 1;
    value++;
  }
  return ports.length - 1;
}

/** The variables for the link named `linkName` (`/parent/alias`) to `target`. */
export function linkEnv(linkName: string, target: LinkTarget): string[] {
  const alias = (linkName.split('/').pop() ?? '').toUpperCase().replace(/-/g, '_');
  const ip = target.ipv4;
  const ports = sortedPorts(target.exposedPorts);
  const env: string[] = [];
  const first = ports[0];
  if (first) env.push(`${alias}_PORT=${first.proto}://${ip}:${first.num}`);
  for (let i = 0; i < ports.length; ) {
    const p = ports[i] as Port;
    const j = nextContiguous(ports, p.num, i);
    if (j > i + 1) {
      const P = `${alias}_PORT_${p.num}_${p.proto.toUpperCase()}`;
      const q = ports[j] as Port;
      const Q = `${alias}_PORT_${p.num}_${q.proto.toUpperCase()}`;
      env.push(`${P}_START=${p.proto}://${ip}:${p.num}`, `${P}_ADDR=${ip}`, `${P}_PROTO=${p.proto}`, `${P}_PORT_START=${p.num}`);
      env.push(`${Q}_END=${q.proto}://${ip}:${q.num}`, `${Q}_PORT_END=${q.num}`);
      i = j + 1;
    } else i++;
  }
  for (const p of ports) {
    const P = `${alias}_PORT_${p.num}_${p.proto.toUpperCase()}`;
    env.push(`${P}=${p.proto}://${ip}:${p.num}`, `${P}_ADDR=${ip}`, `${P}_PORT=${p.num}`, `${P}_PROTO=${p.proto}`);
  }
  env.push(`${alias}_NAME=${linkName}`);
  for (const kv of target.env) {
    const k = kv.indexOf('=');
    if (k < 0) continue;
    const key = kv.slice(0, k);
    if (key === 'HOME' || key === 'PATH') continue;
    env.push(`${alias}_ENV_${key}=${kv.slice(k + 1)}`);
  }
  return env;
}

/** The /etc/hosts lines: `IP\talias hostname [name]` (the name only when it differs from the alias). */
export function linkHostsLines(alias: string, target: LinkTarget): string[] {
  const names = [alias, target.hostname, ...(alias !== target.name ? [target.name] : [])].join(' ');
  return [`${target.ipv4}\t${names}`, ...(target.ipv6 ? [`${target.ipv6}\t${names}`] : [])];
}

/**
 * A parent's hosts file with the lines of one link replaced by `linkHostsLines(alias, target)`, for a
 * target that came back with new addresses. The link's lines are found by their names part (alias,
 * hostname, name: the target's IP is what changed); the new ones go where the first old one was, or
 * at the end when there was none. Every other line is kept as it is.
 */
export function replaceLinkHostsLines(hostsText: string, alias: string, target: LinkTarget): string {
  const fresh = linkHostsLines(alias, target);
  const names = (fresh[0] as string).slice((fresh[0] as string).indexOf('\t') + 1);
  const out: string[] = [];
  let placed = false;
  const body = hostsText.endsWith('\n') ? hostsText.slice(0, -1) : hostsText;
  for (const line of body === '' ? [] : body.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab < 0 || line.slice(tab + 1) !== names) {
      out.push(line);
    } else if (!placed) {
      out.push(...fresh);
      placed = true;
    }
  }
  if (!placed) out.push(...fresh);
  return out.join('\n') + '\n';
}
