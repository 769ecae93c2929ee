/**
 * Answers to one DNS query from the local name table, as Docker's embedded resolver gives them:
 * A/AAAA for container names, aliases, short ids and hostnames of peers on shared networks, PTR for
 * their addresses (`name.network`), and `undefined` for everything else, which the caller forwards
 * upstream (or fails when the container may not reach upstream). Pure; the wire format is dns-packet's.
 *
 * Beware: a local name with no address of the asked family gets an empty NOERROR answer, not
 * NXDOMAIN: the name exists (stub resolvers would otherwise give up on the other family too).
 */
import dnsPacket, { type Answer, type DecodedPacket, type Packet, type Question } from 'dns-packet';
import type { DnsRecords } from './records.js';

/** What the asking container may see. */
export interface ClientView {
  networkIds: readonly string[];
  /** Legacy `--link target:alias` on user-defined networks: alias → target name, visible only here. */
  links: ReadonlyMap<string, string>;
  /** Upstream servers, at most 3; empty means no forwarding (containers only on internal networks). */
  upstream: readonly string[];
}

/** Docker answers its local names with this TTL. */
export const LOCAL_TTL = 600;

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;
export type Rcode = keyof typeof RCODE;

export function reply(query: DecodedPacket, answers: Answer[], rcode: Rcode = 'NOERROR', authoritative = false): Packet {
  const rd = query.flags !== undefined ? query.flags & dnsPacket.RECURSION_DESIRED : 0;
  return {
    id: query.id ?? 0,
    type: 'response',
    flags: rd | dnsPacket.RECURSION_AVAILABLE | (authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | RCODE[rcode],
    questions: query.questions ?? [],
    answers,
  };
}

/** The address a PTR name stands for (in-addr.arpa or ip6.arpa), or undefined. */
export function ptrAddress(name: string): string | undefined {
  const n = name.toLowerCase().replace(/\.$/, '');
  if (n.endsWith('.in-addr.arpa')) {
    const parts = n.slice(0, -'.in-addr.arpa'.length).split('.');
    if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) < 256)) return undefined;
    return parts.reverse().map(Number).join('.');
  }
  if (n.endsWith('.ip6.arpa')) {
    const nibbles = n.slice(0, -'.ip6.arpa'.length).split('.');
    if (nibbles.length !== 32 || !nibbles.every((x) => /^[0-9a-f]$/.test(x))) return undefined;
    const hex = nibbles.reverse().join('');
    const groups = hex.match(/.{4}/g) ?? [];
    return compressV6(groups.map((g) => g.replace(/^0+(?=.)/, '')));
  }
  return undefined;
}

/** RFC 5952 text of eight groups (longest run of two or more zero groups becomes ::). */
function compressV6(groups: string[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

function answerQuestion(q: Question, view: ClientView, records: DnsRecords): Answer[] | undefined {
  if (q.type === 'PTR') {
    const addr = ptrAddress(q.name);
    const target = addr && records.reverse(view.networkIds, addr);
    return target ? [{ type: 'PTR', name: q.name, class: 'IN', ttl: LOCAL_TTL, data: target }] : undefined;
  }
  const name = q.name.toLowerCase().replace(/\.$/, '');
  const found = records.lookup(view.networkIds, view.links.get(name) ?? name);
  if (!found) return undefined;
  if (q.type === 'A') return records.roundRobin(found.v4).map((a) => ({ type: 'A', name: q.name, class: 'IN', ttl: LOCAL_TTL, data: a }));
  if (q.type === 'AAAA') return records.roundRobin(found.v6).map((a) => ({ type: 'AAAA', name: q.name, class: 'IN', ttl: LOCAL_TTL, data: a }));
  return [];
}

/** The local answer to `query`, or undefined when it is not ours to answer (forward it). */
export function answerLocally(query: DecodedPacket, view: ClientView, records: DnsRecords): Packet | undefined {
  const q = query.questions?.[0];
  if (!q || query.type !== 'query') return reply(query, [], 'FORMERR');
  if (q.class !== 'IN') return undefined;
  const answers = answerQuestion(q, view, records);
  return answers ? reply(query, answers, 'NOERROR', true) : undefined;
}

/**
 * `packet` encoded; when it exceeds `maxSize` (512, or the client's EDNS buffer) on UDP, the
 * truncated form (no answers, TC set) so that the client retries over TCP.
 */
export function encodeForUdp(packet: Packet, maxSize: number): Buffer {
  const buf = dnsPacket.encode(packet);
  if (buf.length <= maxSize) return buf;
  return dnsPacket.encode({ ...packet, flags: (packet.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers: [], additionals: [], authorities: [] });
}

/** The UDP payload size the client advertised (EDNS), at least 512. */
export function udpLimit(query: DecodedPacket): number {
  const opt = query.additionals?.find((a) => a.type === 'OPT') as { udpPayloadSize?: number } | undefined;
  return Math.max(512, Math.min(opt?.udpPayloadSize ?? 512, 4096));
}
