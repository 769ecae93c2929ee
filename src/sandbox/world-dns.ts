/**
 * The world's DNS answers, as a pure function from query bytes to response bytes (no I/O), so it
 * is tested without namespaces.
 *
 * The world is authoritative for a tiny zone: each name answers A with its address, any other type
 * of a known name gets an empty answer (NODATA), and every unknown name gets NXDOMAIN. Names match
 * case-insensitively; a subdomain of a known name is unknown.
 */
import dnsPacket from 'dns-packet';

const RCODE_NOERROR = 0;
const RCODE_NXDOMAIN = 3;
const RCODE_NOTIMP = 4;
const RECURSION_DESIRED_BIT = 1 << 8;

/** A zone: lowercase name without trailing dot -> IPv4 address. */
export type Zone = ReadonlyMap<string, string>;

const normalize = (name: string): string => name.toLowerCase().replace(/\.$/, '');

/** The response to one DNS message, or undefined for garbage and for responses (never answered). */
export function answerDns(query: Buffer, zone: Zone, ttl = 60): Buffer | undefined {
  let q: dnsPacket.DecodedPacket;
  try {
    q = dnsPacket.decode(query);
  } catch {
    return undefined;
  }
  if (q.type === 'response') return undefined;
  const questions = q.questions ?? [];
  const answers: dnsPacket.Answer[] = [];
  const isQuery = (((q.flags ?? 0) >> 11) & 0xf) === 0; // opcode QUERY; others are not served
  let rcode = isQuery ? RCODE_NOERROR : RCODE_NOTIMP;
  for (const question of isQuery ? questions : []) {
    const address = zone.get(normalize(question.name));
    if (address === undefined) rcode = RCODE_NXDOMAIN;
    else if (question.type === 'A' || (question.type as string) === 'ANY') {
      answers.push({ type: 'A', name: question.name, ttl, class: 'IN', data: address });
    }
  }
  return dnsPacket.encode({
    type: 'response',
    id: q.id ?? 0,
    flags: dnsPacket.AUTHORITATIVE_ANSWER | ((q.flags ?? 0) & RECURSION_DESIRED_BIT) | rcode,
    questions,
    answers,
  });
}
