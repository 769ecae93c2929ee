/**
 * Why a flow is allowed or denied, as a stable code (for programs and policies) and a detail in
 * words (the rule or option behind it). Our own table's rules carry comments (firewall/render.ts):
 * those name the reason; a rule of the operators' table `inet <prefix>-user` is a `user-rule`; a rule
 * of any other table is a `rule`.
 *
 * Use: `reasonOfDrop(prefix, decision, sameBridge)`, `reasonOfAccept(decision, otherwise)`.
 */
import type { Decision } from './nft/eval.js';
import { ruleText } from './nft/ruleset.js';

export const REASONS = {
  'same-network': 'on the same network, inter-container traffic on',
  'icc-off': 'on the same network with inter-container communication off (ICC)',
  link: 'a legacy link (--link) to an exposed port',
  internal: 'an internal network: no traffic in or out',
  isolation: 'network isolation between bridges',
  'direct-access': 'no direct access into a bridge from outside (only published ports)',
  published: 'a published port',
  'loopback-only': 'published on 127.0.0.1: the host only',
  'cve-2020-8558': '127.0.0.0/8 from outside the host is dropped (CVE-2020-8558 guard)',
  'not-published': 'no port is published there',
  'other-gateway': 'the gateway address of another network',
  'user-rule': 'a rule in the operators\' table inet <prefix>-user',
  rule: 'a rule of another nftables table',
  policy: 'a base chain\'s drop policy',
  'no-route': 'no route',
  routed: 'forwarded by the host (masqueraded)',
  local: 'the host itself',
  'macvlan-private': 'a macvlan network in private mode',
  'macvlan-parent': 'a macvlan parent does not reach its own children',
  unknown: 'a rule the audit cannot evaluate',
} as const;

export type Reason = keyof typeof REASONS;

const OUR_COMMENTS: Record<string, Reason> = {
  internal: 'internal',
  'direct access': 'direct-access',
  'CVE-2020-8558': 'cve-2020-8558',
  'gateway of another network': 'other-gateway',
};

export function reasonOfDrop(prefix: string, d: Decision, sameBridge: boolean): { reason: Reason; detail: string } {
  if (!d.rule) {
    const c = d.policyChain;
    return { reason: 'policy', detail: c ? `policy drop of ${c.family} ${c.table} chain ${c.name}` : 'dropped' };
  }
  const r = d.rule;
  const text = `${r.family} ${r.table} ${r.chain}: ${ruleText(r)}`;
  if (r.table === `${prefix}-user`) return { reason: 'user-rule', detail: text };
  if (r.table !== prefix) return { reason: 'rule', detail: text };
  if (r.comment === 'isolation') return sameBridge ? { reason: 'icc-off', detail: `ICC is off on this network (${text})` } : { reason: 'isolation', detail: text };
  const reason = r.comment ? OUR_COMMENTS[r.comment] : undefined;
  return { reason: reason ?? 'rule', detail: text };
}

export function reasonOfAccept(d: Decision, otherwise: Reason): { reason: Reason; detail: string } {
  for (const r of d.accepts) {
    if (r.comment === 'links') return { reason: 'link', detail: `${r.table} ${r.chain}: ${ruleText(r)}` };
    if (r.comment === 'published') return { reason: 'published', detail: `${r.table} ${r.chain}: ${ruleText(r)}` };
    if (r.expr.some((e) => JSON.stringify(e).includes('"@icc"'))) return { reason: 'same-network', detail: 'ICC is on for this network' };
  }
  if (d.packet.ctStatus.includes('dnat')) return { reason: 'published', detail: `DNAT to ${d.packet.daddr}:${d.packet.dport}` };
  return { reason: otherwise, detail: REASONS[otherwise] };
}
