/**
 * Legacy links (`--link`) through a bridge with ICC off, as elements of the set `links4`
 * (parent address . target address . proto . port): the forward chain accepts a new connection
 * from the parent to one of the target's exposed ports; replies pass by conntrack (established).
 * One element per exposed port, as Docker writes one iptables rule per port and direction.
 *
 * Use: `linkElements(links)` for the full render; `renderLinkDelta(table, added, removed, keep)` per change.
 *
 * Beware: IPv4 only, like Docker's legacy links (they carry the endpoints' IPv4 addresses). A
 * `delete element` of a missing element fails the transaction: the manager then re-renders the table.
 */
import { compareElements, type FirewallProto } from './render-ports.js';

export interface FirewallLink {
  /** The parent's (the container that has `--link`) IPv4 address. */
  src: string;
  /** The target's IPv4 address. */
  dst: string;
  proto: FirewallProto;
  /** An exposed port of the target. */
  port: number;
}

export const LINKS_SET = 'links4';

export function linkElement(l: FirewallLink): string {
  return `${l.src} . ${l.dst} . ${l.proto} . ${l.port}`;
}

/** Elements of `links4`, sorted, without duplicates. */
export function linkElements(links: readonly FirewallLink[]): string[] {
  return [...new Set(links.map(linkElement))].sort(compareElements);
}

/**
 * The script that removes `removed` and adds `added` in one transaction; an element still needed by
 * `keep` (the state after the change, e.g. another owner's identical link) is not removed.
 */
export function renderLinkDelta(table: string, added: readonly FirewallLink[], removed: readonly FirewallLink[], keep: readonly FirewallLink[]): string {
  const t = `inet ${table}`;
  const removing = linkElements(removed);
  const need = new Set(removing.length ? keep.map(linkElement) : []);
  const gone = removing.filter((e) => !need.has(e));
  const add = linkElements(added);
  const lines: string[] = [];
  if (gone.length) lines.push(`delete element ${t} ${LINKS_SET} { ${gone.join(', ')} }`);
  if (add.length) lines.push(`add element ${t} ${LINKS_SET} { ${add.join(', ')} }`);
  return lines.length ? lines.join('\n') + '\n' : '';
}
