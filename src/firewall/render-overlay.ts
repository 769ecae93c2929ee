/**
 * The overlay guard: a table of its own, `inet <prefix>-overlay`, that drops VXLAN (UDP 4789) for an
 * encrypted overlay network's VNI unless it arrived through this host's WireGuard interface. Every
 * VXLAN device of a namespace shares one UDP socket demultiplexed by VNI, so without this rule a
 * plain VXLAN packet sent from the LAN to an encrypted VNI would be accepted (platform notes).
 * Rendered from state as text with no I/O; applied in one `nft -f` (declare, delete, refill).
 *
 * Beware: the VNI is matched as raw bits (`@th,96,24`: the 24 bits after the 8-byte UDP header and
 * the 4 bytes of VXLAN flags); nftables 1.0.6 has no `vxlan` expression. With no encrypted network
 * the table holds its chain and no rule.
 */
import { TABLE_FAMILY } from './render.js';

export interface OverlayGuardState {
  /** Our main table's name (the instance prefix); the guard's table is `<table>-overlay`. */
  table: string;
  /** This host's WireGuard interface. */
  wireguardIf: string;
  /** VNIs of the encrypted overlay networks this host carries. */
  encryptedVnis: readonly number[];
}

export const overlayTable = (table: string): string => `${table}-overlay`;
export const VXLAN_UDP_PORT = 4789;

export function renderOverlayGuard(s: OverlayGuardState): string {
  const t = `${TABLE_FAMILY} ${overlayTable(s.table)}`;
  const vnis = [...new Set(s.encryptedVnis)].sort((a, b) => a - b);
  const out = [`table ${t} {`, '}', `delete table ${t}`, `table ${t} {`, 'chain input {', 'type filter hook input priority filter; policy accept;'];
  if (vnis.length) {
    out.push(`udp dport ${VXLAN_UDP_PORT} iifname != "${s.wireguardIf}" @th,96,24 { ${vnis.join(', ')} } drop comment "encrypted overlay VNIs arrive through WireGuard only"`);
  }
  out.push('}', '}');
  return out.join('\n') + '\n';
}

/** Removes the guard's table (a missing table is declared first, so this never fails). */
export function renderOverlayGuardTeardown(table: string): string {
  const t = `${TABLE_FAMILY} ${overlayTable(table)}`;
  return [`table ${t} {`, '}', `delete table ${t}`].join('\n') + '\n';
}
