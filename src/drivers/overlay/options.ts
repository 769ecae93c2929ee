/**
 * Options of the overlay driver (`docker network create -d overlay [--opt encrypted]
 * [-o com.docker.network.driver.mtu=N] [-o com.docker.network.driver.overlay.vxlanid_list=VNI]`),
 * parsed once into a typed object with Docker's texts, and the names of the per-network links.
 * Pure: no I/O.
 *
 * The VNI: given, or derived from the network id (4096 + 24 bits of the id, Docker's range starts at
 * 4096), so that every host computes the same one from the record; the driver then claims `vni/<n>`
 * in the cluster store with an atomic create, so two networks never share one (a clash is refused and
 * a retry gets a new id, hence a new VNI).
 *
 * Beware: interface names are at most 15 bytes; `ov-` / `vx-` + 12 hex of the network id fit.
 */
import { invalidParameter } from '../../util/index.js';

export const OVERLAY_OPT = {
  vxlanIds: 'com.docker.network.driver.overlay.vxlanid_list',
  mtu: 'com.docker.network.driver.mtu',
  encrypted: 'encrypted',
} as const;

/** Docker's first VNI; below are reserved. VXLAN ids have 24 bits. */
export const VNI_MIN = 4096;
export const VNI_MAX = (1 << 24) - 1;

export interface OverlayOptions {
  vni: number;
  /** Container-side MTU; undefined: underlay MTU minus encapsulation, found on each host. */
  mtu?: number;
  encrypted: boolean;
}

/** Marks (as ifalias) the links this driver made: restore removes only those. */
export const OWNER_ALIAS = 'redes-overlay';

export const bridgeName = (networkId: string): string => `ov-${networkId.slice(0, 12)}`;
export const vxlanName = (networkId: string): string => `vx-${networkId.slice(0, 12)}`;
/** The host's devices of an overlay network (for the audit and the topology). */
export const overlayDevices = (networkId: string): { bridge: string; vxlan: string } => ({ bridge: bridgeName(networkId), vxlan: vxlanName(networkId) });

/** The VNI every host derives from a network id when none was given. */
export function derivedVni(networkId: string): number {
  const bits = parseInt(networkId.slice(0, 6), 16);
  return VNI_MIN + (bits % (VNI_MAX - VNI_MIN + 1));
}

export function parseOverlayOptions(raw: Readonly<Record<string, string>>, networkId: string): OverlayOptions {
  for (const k of Object.keys(raw)) {
    if (!(Object.values(OVERLAY_OPT) as string[]).includes(k)) {
      throw invalidParameter('overlay.option_unknown', `overlay driver: unknown option ${JSON.stringify(k)} (known: ${Object.values(OVERLAY_OPT).join(', ')})`);
    }
  }
  let vni = derivedVni(networkId);
  const ids = raw[OVERLAY_OPT.vxlanIds];
  if (ids !== undefined) {
    const list = ids.split(',');
    const n = Number(list[0]);
    if (list.length !== 1 || !/^\d+$/.test(list[0] ?? '') || n < 1 || n > VNI_MAX) {
      throw invalidParameter('overlay.vni', `invalid vxlan id value ${JSON.stringify(ids)} passed: one VNI from 1 to ${VNI_MAX} per subnet (this engine takes one subnet per overlay network)`);
    }
    vni = n;
  }
  let mtu: number | undefined;
  const m = raw[OVERLAY_OPT.mtu];
  if (m !== undefined && m !== '') {
    mtu = Number(m);
    if (!/^\d+$/.test(m) || mtu < 68 || mtu > 65535) throw invalidParameter('overlay.mtu', `invalid MTU ${JSON.stringify(m)}: an integer from 68 to 65535`);
  }
  const enc = raw[OVERLAY_OPT.encrypted];
  if (enc !== undefined && !['', 'true', 'false'].includes(enc)) {
    throw invalidParameter('overlay.encrypted', `invalid value ${JSON.stringify(enc)} for option encrypted: give it without a value (--opt encrypted)`);
  }
  return { vni, ...(mtu !== undefined ? { mtu } : {}), encrypted: enc !== undefined && enc !== 'false' };
}

/** What inspect shows under Options: the given options, with the VNI Docker always lists. */
export function shownOverlayOptions(raw: Readonly<Record<string, string>>, opts: OverlayOptions): Record<string, string> {
  return { ...raw, [OVERLAY_OPT.vxlanIds]: String(opts.vni) };
}
