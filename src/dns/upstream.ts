/**
 * The upstream servers a container's queries go to: its own `--dns` servers when given, otherwise
 * the nameservers of the engine host's resolv.conf; at most three, as resolv.conf allows.
 *
 * Beware: loopback servers of the host are kept. The daemon forwards from its own namespace (the
 * engine host), where they are reachable, unlike inside a container.
 */
import net from 'node:net';

export const MAX_UPSTREAM = 3;

/** `nameserver` entries of a resolv.conf text. */
export function nameservers(resolvConfText: string): string[] {
  const out: string[] = [];
  for (const line of resolvConfText.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key === 'nameserver' && value && net.isIP(value.replace(/%.*$/, ''))) out.push(value);
  }
  return out;
}

/** The servers to forward to; `dns` is the container's `--dns` list. */
export function upstreamServers(dns: readonly string[], hostResolvConf: string): string[] {
  const own = dns.filter((s) => net.isIP(s));
  return (own.length ? own : nameservers(hostResolvConf)).slice(0, MAX_UPSTREAM);
}

/** `search` and `options` of a resolv.conf text (the last `search`/`domain` line wins). */
export function searchAndOptions(resolvConfText: string): { search: string[]; options: string[] } {
  let search: string[] = [];
  const options: string[] = [];
  for (const line of resolvConfText.split('\n')) {
    const [key, ...rest] = line.trim().split(/\s+/);
    if (key === 'search' || key === 'domain') search = rest;
    else if (key === 'options') options.push(...rest);
  }
  return { search, options };
}

/**
 * The resolv.conf of a container served by the embedded DNS, as Docker writes it: only 127.0.0.11,
 * the search domains (`--dns-search` or the host's), and `ndots:0` unless the user set ndots.
 */
export function embeddedResolvConf(address: string, search: readonly string[], options: readonly string[]): string {
  const opts = options.some((o) => o.startsWith('ndots:')) ? [...options] : ['ndots:0', ...options];
  const lines = [`nameserver ${address}`];
  if (search.length) lines.push(`search ${search.join(' ')}`);
  lines.push(`options ${opts.join(' ')}`);
  return lines.join('\n') + '\n';
}
