/**
 * The /etc/hosts, /etc/hostname and /etc/resolv.conf a container gets, written as Docker writes them
 * (pure text builders), and `writeEtcFiles`, which writes the three files bound into the container.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { internal } from '../../util/index.js';
import { strList } from './container-config.js';
import type { EtcContributions } from './container-hooks.js';
import type { ContainerRecord } from './container-types.js';

/** The `--add-host` address that stands for the host (--host-gateway-ip, else the default bridge's gateways). */
const HOST_GATEWAY = 'host-gateway';

/** `name:ip`, or `name=ip` (Docker 25+); undefined for an entry without a name. */
function splitExtraHost(eh: string): { name: string; ip: string } | undefined {
  const i = /^[^:=]+=/.test(eh) ? eh.indexOf('=') : eh.indexOf(':');
  return i <= 0 ? undefined : { name: eh.slice(0, i), ip: eh.slice(i + 1) };
}

/**
 * Throws dockerd's 500 when an `--add-host NAME:host-gateway` entry has no address to stand for
 * (no --host-gateway-ip and a default bridge without a gateway); called before any step of a start.
 */
export function checkHostGateway(extraHosts: readonly string[], hostGateway: readonly string[]): void {
  if (hostGateway.length > 0) return;
  if (extraHosts.some((eh) => splitExtraHost(eh)?.ip === HOST_GATEWAY)) throw internal('container.host_gateway', 'unable to derive the IP value for host-gateway');
}

/**
 * /etc/hosts in Docker's order: the fixed entries, `--add-host` entries, features' lines (legacy
 * links), then the container's own addresses last.
 */
export function hostsFile(entries: { ipv4?: string; ipv6?: string; hostname: string; domainname?: string }, extraHosts: string[], featureLines: readonly string[] = [], hostGateway: readonly string[] = []): string {
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::\tip6-localnet',
    'ff00::\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
  ];
  checkHostGateway(extraHosts, hostGateway);
  for (const eh of extraHosts) {
    const entry = splitExtraHost(eh);
    if (!entry) continue;
    for (const addr of entry.ip === HOST_GATEWAY ? hostGateway : [entry.ip]) lines.push(`${addr}\t${entry.name}`);
  }
  lines.push(...featureLines);
  const names = entries.domainname ? `${entries.hostname}.${entries.domainname} ${entries.hostname}` : entries.hostname;
  if (entries.ipv4) lines.push(`${entries.ipv4}\t${names}`);
  if (entries.ipv6) lines.push(`${entries.ipv6}\t${names}`);
  return lines.join('\n') + '\n';
}

/**
 * resolv.conf from the host's, with `--dns`, `--dns-search`, `--dns-option` replacing its parts, and
 * loopback nameservers dropped (they mean nothing inside a container's namespace).
 */
export function resolvConf(hostText: string, opts: { dns: string[]; search: string[]; options: string[] }): string {
  const hostNs: string[] = [];
  const hostSearch: string[] = [];
  const hostOpts: string[] = [];
  for (const raw of hostText.split('\n')) {
    const [key, ...rest] = raw.trim().split(/\s+/);
    if (key === 'nameserver' && rest[0] && !/^127\.|^::1$/.test(rest[0])) hostNs.push(rest[0]);
    else if (key === 'search' || key === 'domain') hostSearch.splice(0, hostSearch.length, ...rest);
    else if (key === 'options') hostOpts.push(...rest);
  }
  const ns = opts.dns.length ? opts.dns : hostNs.length ? hostNs : ['8.8.8.8', '8.8.4.4'];
  const search = opts.search.length ? opts.search : hostSearch;
  const options = opts.options.length ? opts.options : hostOpts;
  const out = ns.map((n) => `nameserver ${n}`);
  if (search.length) out.push(`search ${search.join(' ')}`);
  if (options.length) out.push(`options ${options.join(' ')}`);
  return out.join('\n') + '\n';
}

/** Writes the container's three files from its record, the host's resolv.conf and the features' additions. */
export async function writeEtcFiles(rec: ContainerRecord, etc: EtcContributions, hostResolvConf: string): Promise<void> {
  const first = Object.values(rec.endpoints).find((e) => e.ipv4Address || e.ipv6Address);
  const extra = strList(rec.hostConfig.ExtraHosts, 'ExtraHosts');
  const hostText = await readFile(hostResolvConf, 'utf8').catch(() => '');
  const hostname = String(rec.config.Hostname);
  const domainname = String(rec.config.Domainname ?? '');
  await writeFile(rec.hostnamePath, `${hostname}\n`);
  const own = { ...(first?.ipv4Address ? { ipv4: first.ipv4Address } : {}), ...(first?.ipv6Address ? { ipv6: first.ipv6Address } : {}), hostname, domainname };
  await writeFile(rec.hostsPath, hostsFile(own, extra, etc.hostsLines, etc.hostGateway));
  const dns = { dns: strList(rec.hostConfig.Dns, 'Dns'), search: strList(rec.hostConfig.DnsSearch, 'DnsSearch'), options: strList(rec.hostConfig.DnsOptions, 'DnsOptions') };
  await writeFile(rec.resolvConfPath, etc.resolvConf ?? resolvConf(hostText, dns));
}
