/**
 * Options of the macvlan driver (`docker network create -d macvlan -o parent=eth1 -o macvlan_mode=...`),
 * parsed once into a typed object, with Docker's texts for the errors (moby
 * daemon/libnetwork/drivers/macvlan). Pure: no I/O, so every check here runs before the kernel is touched.
 *
 * `redes.macvlan.host_shim=<IPv4>` is ours, not Docker's: see shim.ts.
 *
 * Beware: a parent such as `eth0.10` is only checked as a VLAN sub-interface when no link of that name
 * exists (Docker uses an existing `eth0.10` as it is); `parseVlanParent` is that later check.
 */
import { formatAddress, tryParseAddress } from '../../ipam/index.js';
import { invalidParameter } from '../../util/index.js';

export const MACVLAN_OPT = { parent: 'parent', mode: 'macvlan_mode', hostShim: 'redes.macvlan.host_shim' } as const;

export const MACVLAN_MODES = ['bridge', 'private', 'vepa', 'passthru'] as const;
export type MacvlanMode = (typeof MACVLAN_MODES)[number];

export interface MacvlanOptions {
  /** The host interface the children hang off; '' when none was given (a private parent is used). */
  parent: string;
  mode: MacvlanMode;
  /** The engine host's address on its shim link (canonical IPv4, no length); absent: no shim. */
  hostShim?: string;
}

/** Linux interface names: at most 15 bytes, no '/', ':' or white space. */
const IFNAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$/;

/**
 * Docker's parent-less macvlan hangs off a dummy link `dm-<12 hex of the network id>`. This kernel has
 * no dummy links, so that name is given to a port-less Linux bridge instead: like a dummy it is up,
 * carries nothing to anyone, and lets bridge-mode children reach each other.
 */
export function privateParentName(networkId: string): string {
  return `dm-${networkId.slice(0, 12)}`;
}

/** Marks (as the link's ifalias) the links this driver made, so delete and restore touch only those. */
export const OWNER_ALIAS = 'redes-macvlan';

export function parseMacvlanOptions(raw: Readonly<Record<string, string>>): MacvlanOptions {
  const parent = raw[MACVLAN_OPT.parent] ?? '';
  const mode = raw[MACVLAN_OPT.mode] || 'bridge';
  if (!(MACVLAN_MODES as readonly string[]).includes(mode)) {
    throw invalidParameter('macvlan.mode', `requested macvlan mode '${mode}' is not valid, 'bridge' mode is the macvlan driver default`);
  }
  if (parent === 'lo') throw invalidParameter('macvlan.parent_lo', 'loopback interface is not a valid macvlan parent link');
  if (parent !== '' && !IFNAME.test(parent)) {
    throw invalidParameter('macvlan.parent_name', `invalid parent interface name ${JSON.stringify(parent)}: a Linux interface name has 1 to 15 letters, digits, '_', '.' or '-'`);
  }
  const shimText = raw[MACVLAN_OPT.hostShim];
  if (shimText === undefined) return { parent, mode: mode as MacvlanMode };
  const shim = tryParseAddress(shimText);
  if (!shim || shim.family !== 4 || shim.zone !== undefined || shimText.includes('/')) {
    throw invalidParameter('macvlan.shim_address', `invalid ${MACVLAN_OPT.hostShim} ${JSON.stringify(shimText)}: give one IPv4 address of the network's subnet, without a prefix length`);
  }
  // The shim is a bridge-mode sibling of the children: only bridge-mode children can reach it.
  if (parent === '') {
    throw invalidParameter('macvlan.shim_no_parent', `${MACVLAN_OPT.hostShim} needs -o parent: a macvlan network without a parent is internal, the host has nothing to reach it through`);
  }
  if (mode !== 'bridge') {
    throw invalidParameter('macvlan.shim_mode', `${MACVLAN_OPT.hostShim} works only with macvlan_mode bridge: in mode ${mode} the kernel does not pass frames between the host's shim and the containers`);
  }
  return { parent, mode: mode as MacvlanMode, hostShim: formatAddress(4, shim.addr) };
}

/** The link the children of `net` hang off: the given parent, or the network's private one. */
export function effectiveParent(opts: MacvlanOptions, networkId: string): string {
  return opts.parent || privateParentName(networkId);
}

/**
 * A parent `base.vid` that does not exist yet, checked as Docker does before it makes the 802.1q
 * sub-interface (same order, same texts). `baseExists` says whether `base` is a link of the host.
 */
export function parseVlanParent(parent: string, baseExists: (base: string) => boolean): { base: string; vid: number } {
  if (!parent.includes('.')) {
    throw invalidParameter('macvlan.parent_missing', `invalid subinterface vlan name ${parent}, example formatting is eth0.10`);
  }
  const parts = parent.split('.');
  if (parts.length !== 2) {
    throw invalidParameter('macvlan.vlan_format', `required interface name format is: name.vlan_id, ex. eth0.10 for vlan 10, instead received ${parent}`);
  }
  const [base = '', vidText = ''] = parts;
  // Go's strconv.Atoi, which Docker uses: an optional sign, then decimal digits.
  if (!/^[+-]?\d{1,18}$/.test(vidText)) {
    throw invalidParameter('macvlan.vlan_id', `unable to parse a valid vlan id from: ${vidText} (ex. eth0.10 for vlan 10)`);
  }
  if (!baseExists(base)) {
    throw invalidParameter('macvlan.vlan_base_missing', `-o parent interface was not found on the host: ${base}`);
  }
  const vid = Number(vidText);
  if (vid > 4094 || vid < 1) throw invalidParameter('macvlan.vlan_range', `vlan id must be between 1-4094, received: ${vid}`);
  return { base, vid };
}
