/**
 * The embedded DNS as a container lifecycle feature: containers on user-defined networks get
 * `nameserver 127.0.0.11` and a server in their namespace; their names (name, aliases, short id,
 * hostname) are answered to peers on shared networks and kept current on start, connect, disconnect,
 * rename, stop and removal. Containers only on the default bridge keep the host's resolv.conf, as in
 * Docker.
 *
 * Use: `hooks: [..., createDnsHooks({ dns, networks, containers, resolvConfPath })]` in the container
 * controller's deps, with one `EmbeddedDns` for the daemon (`dns.close()` at shutdown).
 *
 * Beware: forwarding is off when every network the container joined is `--internal` (CVE-2024-29018:
 * nothing leaves such a container, not even DNS). A container that joins its first user-defined
 * network while running gets its resolv.conf rewritten in place (the file is bind-mounted, so the
 * same inode must be kept: writeFile truncates and writes).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { EMBEDDED_DNS_ADDRESS, embeddedResolvConf, searchAndOptions, upstreamServers, type ClientView, type DnsEndpoint, type EmbeddedDns } from '../../dns/index.js';
import { strList } from '../containers/container-config.js';
import type { ContainerHooks } from '../containers/container-hooks.js';
import type { ContainerRecord, EndpointRecord } from '../containers/container-types.js';
import type { NetworkRecord } from '../networks/network-record.js';
import { parseLink } from '../links/link-env.js';
import { failpoint } from '../../util/index.js';

/** What the hooks need to know about other containers (the container controller provides it). */
export interface ContainerLookup {
  resolve(term: string): ContainerRecord;
  list(opts: { all: boolean }): ContainerRecord[];
}

export interface DnsHookDeps {
  dns: EmbeddedDns;
  networks: { get(id: string): NetworkRecord | undefined };
  containers: ContainerLookup;
  /** The engine host's resolv.conf: upstream servers and default search domains. */
  resolvConfPath: string;
  /** Stores the record after the hooks filled in DNSNames on connect/rename (the controller stored it before). */
  save: (rec: ContainerRecord) => void;
}

/** Docker's DNSNames of an endpoint: name, aliases, short id, hostname (no duplicates). */
export function endpointDnsNames(rec: ContainerRecord, ep: EndpointRecord): string[] {
  const hostname = typeof rec.config.Hostname === 'string' ? rec.config.Hostname : '';
  return [...new Set([rec.name, ...ep.aliases, rec.id.slice(0, 12), ...(hostname ? [hostname] : [])])];
}

export function createDnsHooks(deps: DnsHookDeps): ContainerHooks {
  const { dns } = deps;

  const userEndpoints = (rec: ContainerRecord): Array<[EndpointRecord, NetworkRecord]> => {
    const out: Array<[EndpointRecord, NetworkRecord]> = [];
    for (const ep of Object.values(rec.endpoints)) {
      // The gateway bridge endpoint is anonymous, as in Docker: no names there.
      if (ep.sandboxGateway) continue;
      const net = deps.networks.get(ep.networkId);
      if (net && !net.predefined && net.driverOptions.attach === 'interface') out.push([ep, net]);
    }
    return out;
  };

  const hostText = (): Promise<string> => readFile(deps.resolvConfPath, 'utf8').catch(() => '');

  const resolvText = async (rec: ContainerRecord): Promise<string> => {
    const host = searchAndOptions(await hostText());
    const search = strList(rec.hostConfig.DnsSearch, 'DnsSearch');
    const options = strList(rec.hostConfig.DnsOptions, 'DnsOptions');
    return embeddedResolvConf(EMBEDDED_DNS_ADDRESS, search.length ? search : host.search, options.length ? options : host.options);
  };

  /**
   * Records and view of a running container from its endpoints; whether it uses the server. `host`:
   * the host's resolv.conf when the caller read it already (a daemon start reads it once for all).
   */
  const refresh = async (rec: ContainerRecord, host?: string): Promise<boolean> => {
    const eps = userEndpoints(rec).filter(([ep]) => ep.ipv4Address || ep.ipv6Address);
    const records: DnsEndpoint[] = eps.map(([ep, net]) => {
      ep.dnsNames = endpointDnsNames(rec, ep);
      return {
        containerId: rec.id, networkId: net.id, networkName: net.name, names: ep.dnsNames,
        ...(ep.ipv4Address ? { ipv4: ep.ipv4Address } : {}), ...(ep.ipv6Address ? { ipv6: ep.ipv6Address } : {}),
      };
    });
    dns.records.setContainer(rec.id, records);
    const links = new Map<string, string>();
    for (const [ep] of eps) {
      for (const l of ep.links) {
        const p = parseLink(l);
        if (p) links.set(p.alias.toLowerCase(), p.name);
      }
    }
    const joined = Object.values(rec.endpoints).filter((ep) => ep.ifname || ep.ipv4Address || ep.ipv6Address);
    const external = joined.some((ep) => deps.networks.get(ep.networkId)?.internal === false);
    const view: ClientView = {
      networkIds: eps.map(([, net]) => net.id),
      links,
      upstream: external ? upstreamServers(strList(rec.hostConfig.Dns, 'Dns'), host ?? (await hostText())) : [],
    };
    dns.setView(rec.id, view);
    return eps.length > 0 || dns.isAttached(rec.id);
  };

  const start = async (rec: ContainerRecord, host?: string): Promise<boolean> => {
    if (!rec.netns || rec.networkMode.startsWith('container:')) return false;
    if (!(await refresh(rec, host))) return false;
    await dns.attach(rec.id, `/run/netns/${rec.netns}`);
    return true;
  };

  return {
    name: 'dns',
    async beforeStart(rec, etc) {
      if (rec.networkMode.startsWith('container:')) {
        // Shares the other's namespace, so its server too: same resolv.conf.
        const other = deps.containers.resolve(rec.networkMode.slice('container:'.length));
        if (dns.isAttached(other.id)) etc.resolvConf = await resolvText(rec);
        return;
      }
      if (await start(rec)) {
        failpoint('dns.register.after-attach'); // names answered, resolv.conf not yet written
        etc.resolvConf = await resolvText(rec);
      }
    },
    async beforeStop(rec) {
      dns.forget(rec.id);
    },
    async endpointsChanged(rec) {
      const was = dns.isAttached(rec.id);
      if ((await start(rec)) && !was) await writeFile(rec.resolvConfPath, await resolvText(rec));
      deps.save(rec);
    },
    async renamed(rec) {
      if (rec.state.status !== 'running' || !rec.netns || rec.networkMode.startsWith('container:')) return;
      await refresh(rec);
      deps.save(rec);
    },
    async removed(rec) {
      dns.forget(rec.id);
    },
    async restore(running) {
      const host = await hostText();
      for (const rec of running) await start(rec, host);
    },
  };
}
