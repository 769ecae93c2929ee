/**
 * The macvlan driver: each container gets a macvlan child of a host interface (`-o parent=eth1`), with
 * its own MAC and address on the parent's layer-2 segment, and no bridge, NAT or firewall of ours on
 * the path. The child is created straight inside the container's namespace under its final name
 * (`ip link add link PARENT name eth0 ... netns NS type macvlan`), so nothing is renamed or moved.
 *
 * Kernel objects of the network itself:
 * - none, for an existing parent;
 * - no parent (Docker: a `dm-<id>` dummy link): this kernel has no dummy links, so `dm-<12 hex>` is a
 *   port-less Linux bridge. Children in bridge mode reach each other through it and nothing else;
 * - a parent `eth0.10` that does not exist: the 802.1q sub-interface is made, when the kernel can.
 * - with `-o redes.macvlan.host_shim=ADDR`, the host shim `mvs-<8 hex>` and a /32 route per
 *   container through it (shim.ts; its own ifalias marker).
 * Links made here carry the ifalias OWNER_ALIAS: delete and `restore` remove only those.
 *
 * Beware: as with any macvlan, the engine's host cannot talk to its containers through the parent
 * (frames the parent itself sends never reach its macvlan children), unless the network has a shim.
 * Kernel calls act in the daemon's namespace, or in `hostNetns` when given (tests).
 */
import { ipBatch, ipJson, type IpAddr, type IpCommand, type IpLink, CommandError, setLinkIpv6 } from '../../kernel/index.js';
import { logger, forbidden, internal, invalidParameter, notImplemented, RedesError } from '../../util/index.js';
import { keepsIpv6, type DriverNetwork, type EndpointRef, type EndpointSpec, type LostEndpoint, type NetworkDriver, type NetworkOptions } from '../driver.js';
import { delEndpoint } from '../endpoint.js';
import { effectiveParent, MACVLAN_OPT, OWNER_ALIAS, parseMacvlanOptions, parseVlanParent, type MacvlanOptions } from './options.js';
import { checkShimAddress, ensureShim, removeOrphanShims, removeShim, shimName, shimRoute, shimUnroute } from './shim.js';

const log = logger.child({ component: 'macvlan' });

interface LinkDetails extends IpLink {
  ifalias?: string;
  linkinfo?: { info_kind?: string; info_data?: { id?: number; mode?: string } };
}

interface MacvlanNetwork {
  net: DriverNetwork<MacvlanOptions>;
  opts: MacvlanOptions;
  parent: string;
}

const stderrOf = (e: unknown): string => (e instanceof CommandError ? e.result.stderr.trim() : (e as Error).message);

export class MacvlanDriver implements NetworkDriver<MacvlanOptions> {
  readonly name = 'macvlan';
  readonly scope = 'local';
  readonly allocator = 'local';
  private readonly nets = new Map<string, MacvlanNetwork>();

  /** `hostNetns`: act in that named namespace instead of the daemon's own (tests). */
  constructor(private readonly hostNetns?: string) {}

  parseOptions(raw: Readonly<Record<string, string>>): { shown: Record<string, string>; options: NetworkOptions<MacvlanOptions> } {
    const own = parseMacvlanOptions(raw);
    // Docker shows the options as given (`parent` only when set; no default mode filled in). No ports
    // are published (the containers sit on the parent's segment), and ICC is the parent's business.
    return { shown: { ...raw }, options: { attach: 'interface', icc: true, reserved: own.hostShim ? { host_shim: own.hostShim } : {}, own } };
  }

  checkPools(): void {}

  checkCreate(net: DriverNetwork<MacvlanOptions>, existing: readonly DriverNetwork<MacvlanOptions>[]): void {
    const mine = this.toMacvlan(net);
    const others = existing.filter((n) => n.id !== net.id).map((n) => this.toMacvlan(n));
    if (mine.opts.hostShim) {
      const shims = others.flatMap((o) => (o.opts.hostShim ? [{ network: o.net.id, address: o.opts.hostShim }] : []));
      checkShimAddress(net, mine.opts.hostShim, shims);
    }
    for (const other of others) {
      if (other.parent !== mine.parent || other.net.id === net.id) continue;
      if (mine.opts.mode === 'passthru') {
        throw forbidden('macvlan.passthru_parent_used', `cannot use mode passthru, macvlan network ${other.net.id} is already using parent interface ${mine.parent}`);
      }
      if (other.opts.mode === 'passthru') {
        throw forbidden('macvlan.parent_used_passthru', `macvlan network ${other.net.id} is already using parent interface ${mine.parent} in mode passthru`);
      }
    }
  }

  async createNetwork(net: DriverNetwork<MacvlanOptions>): Promise<void> {
    const m = this.toMacvlan(net);
    if (!m.opts.parent) await this.ensurePrivateParent(m.parent);
    else if (!(await this.link(m.parent))) await this.createVlanParent(m.parent);
    if (m.opts.hostShim) {
      try {
        await this.ensureShimOf(m);
      } catch (e) {
        // Undo the parent only when this network alone needed it.
        if (![...this.nets.values()].some((o) => o.parent === m.parent)) await this.removeOwnedLink(m.parent).catch(() => undefined);
        throw e;
      }
    }
    this.nets.set(net.id, m);
  }

  async deleteNetwork(net: DriverNetwork<MacvlanOptions>): Promise<void> {
    const m = this.nets.get(net.id) ?? this.toMacvlan(net);
    this.nets.delete(net.id);
    if (m.opts.hostShim) await removeShim(shimName(net.id), this.hostNetns);
    // A parent this driver made goes with its last network; a parent someone else made always stays.
    if ([...this.nets.values()].some((o) => o.parent === m.parent)) return;
    await this.removeOwnedLink(m.parent);
  }

  async restore(nets: readonly DriverNetwork<MacvlanOptions>[]): Promise<LostEndpoint[]> {
    this.nets.clear();
    for (const net of nets) this.nets.set(net.id, this.toMacvlan(net));
    const wanted = new Set([...this.nets.values()].map((m) => m.parent));
    const links = await ipJson<LinkDetails[]>(['-details', 'link', 'show'], this.hostNetns);
    const shims = new Set([...this.nets.values()].flatMap((m) => (m.opts.hostShim ? [shimName(m.net.id)] : [])));
    const orphanShims = await removeOrphanShims(links, shims, this.hostNetns);
    if (orphanShims.length) log.info({ links: orphanShims }, 'removed macvlan host shims no network owns');
    const orphans = links.filter((l) => l.ifalias === OWNER_ALIAS && !wanted.has(l.ifname));
    if (orphans.length) {
      log.info({ links: orphans.map((l) => l.ifname) }, 'removing macvlan parents no network owns');
      await ipBatch(orphans.map((l) => ['link', 'del', 'dev', l.ifname]), this.hostNetns);
    }
    const have = new Set(links.map((l) => l.ifname));
    for (const m of this.nets.values()) {
      if (have.has(m.parent)) continue;
      // One network whose parent is gone (unplugged, or a VLAN this kernel cannot make) must not keep
      // the daemon from starting: it is reported, and its containers fail to join with Docker's text.
      const make = m.opts.parent ? this.createVlanParent(m.parent) : this.ensurePrivateParent(m.parent);
      await make.catch((e: unknown) => log.error({ err: e, network: m.net.name, parent: m.parent }, 'restoring macvlan parent failed'));
    }
    for (const m of this.nets.values()) {
      if (!m.opts.hostShim) continue;
      // A shim that survived keeps its container routes; one re-made here gets them as containers rejoin.
      if (!have.has(shimName(m.net.id))) log.warn({ network: m.net.name, shim: shimName(m.net.id) }, 're-making a missing macvlan host shim: running containers are not routed through it until they rejoin');
      await this.ensureShimOf(m).catch((e: unknown) => log.error({ err: e, network: m.net.name }, 'restoring macvlan host shim failed'));
    }
    return [];
  }

  async joinEndpoint(net: DriverNetwork<MacvlanOptions>, netns: string, ep: EndpointSpec): Promise<{ hostIfname: string }> {
    const m = this.nets.get(net.id) ?? this.toMacvlan(net);
    const ip4 = ep.ipv4?.split('/')[0];
    if (m.opts.hostShim && ip4 === m.opts.hostShim) {
      throw forbidden('macvlan.shim_address_taken', `address ${ip4} is the host shim of network ${net.name} (${MACVLAN_OPT.hostShim}): reserve it with --aux-address or keep it out of --ip-range`);
    }
    try {
      await ipBatch(
        [['link', 'add', 'link', m.parent, 'name', ep.ifname, 'address', ep.mac, 'netns', netns, 'type', 'macvlan', 'mode', m.opts.mode]],
        this.hostNetns,
      );
    } catch (e) {
      const why = stderrOf(e);
      if (/Cannot find device/i.test(why)) {
        throw invalidParameter('macvlan.parent_not_found', `the requested parent interface ${m.parent} was not found on the Docker host`);
      }
      throw internal('macvlan.port', `failed to create the macvlan port: ${why}`, e);
    }
    const inside: IpCommand[] = [];
    if (ep.ipv4) inside.push(['addr', 'add', ep.ipv4, 'dev', ep.ifname]);
    if (ep.ipv6) inside.push(['addr', 'add', ep.ipv6, 'dev', ep.ifname, 'nodad']);
    inside.push(['link', 'set', ep.ifname, 'up']);
    // Without a parent the network is internal (as in Docker): no default route, whatever was asked.
    if (m.opts.parent && ep.gatewayV4) inside.push(['route', 'replace', 'default', 'via', ep.gatewayV4, 'dev', ep.ifname]);
    // No `-6` here: ip's batch lines take no options; the gateway's address tells ip the family.
    if (m.opts.parent && ep.gatewayV6) inside.push(['route', 'replace', 'default', 'via', ep.gatewayV6, 'dev', ep.ifname]);
    try {
      setLinkIpv6(netns, ep.ifname, keepsIpv6(ep));
      await ipBatch(inside, netns);
      if (m.opts.hostShim && ip4) {
        const route = (): Promise<void> => shimRoute(shimName(net.id), m.opts.hostShim ?? '', ip4, this.hostNetns);
        // A shim deleted by hand since the network was made is re-made rather than failing the start.
        await route().catch(async () => {
          await this.ensureShimOf(m);
          await route();
        });
      }
    } catch (e) {
      await delEndpoint(netns, ep.ifname);
      throw e;
    }
    // There is no host-side interface: the child's only end is in the container.
    return { hostIfname: '' };
  }

  async leaveEndpoint(net: DriverNetwork<MacvlanOptions>, netns: string, ep: EndpointRef): Promise<void> {
    const ifname = ep.ifname;
    const m = this.nets.get(net.id) ?? this.toMacvlan(net);
    // The container's address is read from its interface before that goes: leave is given no address.
    const addrs = m.opts.hostShim ? await ipJson<IpAddr[]>(['-4', 'addr', 'show', 'dev', ifname], netns).catch(() => [] as IpAddr[]) : [];
    await delEndpoint(netns, ifname);
    for (const a of addrs.flatMap((l) => l.addr_info)) await shimUnroute(shimName(net.id), a.local, this.hostNetns);
  }

  private ensureShimOf(m: MacvlanNetwork): Promise<void> {
    const address = m.opts.hostShim ?? '';
    return ensureShim({ name: shimName(m.net.id), parent: m.parent, address, inOwnNetns: this.hostNetns === undefined, ...(this.hostNetns ? { netns: this.hostNetns } : {}) });
  }

  private toMacvlan(net: DriverNetwork<MacvlanOptions>): MacvlanNetwork {
    const opts = net.options.own;
    return { net, opts, parent: effectiveParent(opts, net.id) };
  }

  private async link(name: string): Promise<LinkDetails | undefined> {
    const found = await ipJson<LinkDetails[]>(['-details', 'link', 'show', 'dev', name], this.hostNetns).catch(() => [] as LinkDetails[]);
    return found[0];
  }

  /** The port-less bridge that stands in for Docker's dummy parent; an existing one must be ours. */
  private async ensurePrivateParent(name: string): Promise<void> {
    const found = await this.link(name);
    if (found && (found.linkinfo?.info_kind !== 'bridge' || found.ifalias !== OWNER_ALIAS)) {
      throw forbidden('macvlan.private_parent_taken', `interface ${name} exists and was not made by the macvlan driver`);
    }
    const cmds: IpCommand[] = [];
    if (!found) cmds.push(['link', 'add', 'name', name, 'type', 'bridge']);
    cmds.push(['link', 'set', 'dev', name, 'alias', OWNER_ALIAS], ['link', 'set', 'dev', name, 'up']);
    try {
      await ipBatch(cmds, this.hostNetns);
    } catch (e) {
      if (!found) await ipBatch([['link', 'del', 'dev', name]], this.hostNetns).catch(() => undefined);
      throw e;
    }
  }

  /** Makes the missing parent `base.vid` as an 802.1q sub-interface (Docker's checks and texts first). */
  private async createVlanParent(parent: string): Promise<void> {
    const names = new Set((await ipJson<IpLink[]>(['link', 'show'], this.hostNetns)).map((l) => l.ifname));
    const { base, vid } = parseVlanParent(parent, (b) => names.has(b));
    try {
      await ipBatch(
        [
          ['link', 'add', 'link', base, 'name', parent, 'type', 'vlan', 'id', String(vid)],
          ['link', 'set', 'dev', parent, 'alias', OWNER_ALIAS],
          ['link', 'set', 'dev', parent, 'up'],
        ],
        this.hostNetns,
      );
    } catch (e) {
      const why = stderrOf(e);
      await this.removeOwnedLink(parent).catch(() => undefined);
      if (/Unknown device type|not supported/i.test(why)) {
        throw notImplemented(
          'macvlan.no_8021q',
          `failed to create ${parent} vlan link: this kernel has no 802.1q VLAN support (module 8021q), so a VLAN sub-interface cannot be made; use an existing interface as the parent`,
        );
      }
      throw internal('macvlan.vlan_link', `failed to create ${parent} vlan link: ${why}`, e);
    }
  }

  /** Deletes a link only when this driver made it (its alias says so); a missing link is fine. */
  private async removeOwnedLink(name: string): Promise<void> {
    const found = await this.link(name);
    if (!found || found.ifalias !== OWNER_ALIAS) return;
    try {
      await ipBatch([['link', 'del', 'dev', name]], this.hostNetns);
    } catch (e) {
      if (!/Cannot find device/i.test(stderrOf(e))) throw e instanceof RedesError ? e : internal('macvlan.delete', `failed to delete link ${name}: ${stderrOf(e)}`, e);
    }
  }
}
