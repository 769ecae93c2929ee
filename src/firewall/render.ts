/**
 * Renders the whole nftables ruleset of one daemon from engine state, as text, with no I/O.
 *
 * One table (`inet <prefix>`) holds everything redes programs; applying the rendered text replaces
 * its contents in a single `nft -f` transaction (declare, flush, refill), so the kernel never sees
 * half a ruleset and a re-apply never duplicates rules.
 *
 * Chains and what they do:
 * - `postrouting` (nat, srcnat): masquerade of each network's subnets when leaving through any other
 *   interface (off for `enable_ip_masquerade=false` and for internal networks).
 * - `forward` (filter): isolation between bridge networks (a packet entering from one of our bridges
 *   may not leave through another of our bridges), `enable_icc=false` (no traffic between two ports of
 *   one bridge), and internal networks (nothing in or out of the bridge but between its own ports).
 *
 * Beware: nftables 1.0.6 wants each rule and each closing brace on its own line.
 */

export interface FirewallNetwork {
  /** Network id; its short form is written in a comment so a reader can map rules to networks. */
  id: string;
  /** Bridge device name. */
  bridge: string;
  subnetsV4: readonly string[];
  subnetsV6: readonly string[];
  internal: boolean;
  masquerade: boolean;
  icc: boolean;
}

export interface FirewallState {
  /** Name of our table (the instance prefix). */
  table: string;
  networks: readonly FirewallNetwork[];
}

export const TABLE_FAMILY = 'inet';

const q = (s: string): string => `"${s}"`;

export function renderRuleset(state: FirewallState): string {
  const nets = [...state.networks].sort((a, b) => a.bridge.localeCompare(b.bridge));
  const t = `${TABLE_FAMILY} ${state.table}`;
  const out: string[] = [];
  // Declare (a no-op when present), flush, refill: cheaper than deleting the table, which waits for
  // the kernel to retire it, and just as atomic inside one transaction.
  out.push(`table ${t} {`, 'set bridges {', 'type ifname', '}', '}');
  out.push(`flush table ${t}`, `flush set ${t} bridges`, `table ${t} {`);

  out.push('set bridges {', 'type ifname', ...(nets.length ? [`elements = { ${nets.map((n) => q(n.bridge)).join(', ')} }`] : []), '}');

  out.push('chain postrouting {', 'type nat hook postrouting priority srcnat; policy accept;');
  for (const n of nets) {
    if (n.internal || !n.masquerade) continue;
    for (const s of n.subnetsV4) out.push(`ip saddr ${s} oifname != ${q(n.bridge)} masquerade comment ${q(n.id.slice(0, 12))}`);
    for (const s of n.subnetsV6) out.push(`ip6 saddr ${s} oifname != ${q(n.bridge)} masquerade comment ${q(n.id.slice(0, 12))}`);
  }
  out.push('}');

  out.push('chain forward {', 'type filter hook forward priority filter; policy accept;');
  for (const n of nets) {
    const b = q(n.bridge);
    if (n.internal) {
      out.push(`iifname ${b} oifname != ${b} drop comment ${q(n.id.slice(0, 12))}`);
      out.push(`oifname ${b} iifname != ${b} drop comment ${q(n.id.slice(0, 12))}`);
    } else {
      out.push(`iifname ${b} oifname != ${b} oifname @bridges drop comment ${q(n.id.slice(0, 12))}`);
    }
    if (!n.icc) out.push(`iifname ${b} oifname ${b} drop comment ${q(n.id.slice(0, 12))}`);
  }
  out.push('}');

  out.push('}');
  return out.join('\n') + '\n';
}

/** The script that removes our table (teardown); harmless when it is missing. */
export function renderTeardown(table: string): string {
  const t = `${TABLE_FAMILY} ${table}`;
  return `table ${t}\ndelete table ${t}\n`;
}
