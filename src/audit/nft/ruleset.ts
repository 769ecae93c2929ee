/**
 * The live nftables ruleset as `nft -j list ruleset` prints it, indexed for evaluation: tables,
 * base chains per hook (sorted by priority), regular chains, rules and named sets/maps.
 *
 * Use: `const rs = parseRuleset(json)`; hand `rs` to `evaluateHook` (eval.ts). `ruleText(rule)`
 * prints a rule the way `nft list` would, for reasons shown to people.
 *
 * Beware: only what the evaluator needs is kept (expressions stay raw JSON, checked when evaluated).
 * Tables of families `bridge`, `arp` and `netdev` are kept but never evaluated (their hooks are
 * not on the IP path the audit models).
 */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Expr = { [k: string]: Json };

export interface NftRule {
  family: string;
  table: string;
  chain: string;
  handle: number;
  comment?: string;
  expr: Expr[];
}

export interface NftChain {
  family: string;
  table: string;
  name: string;
  /** Base chains only. */
  hook?: string;
  type?: string;
  prio?: number;
  policy?: 'accept' | 'drop';
  rules: NftRule[];
}

export interface NftSet {
  family: string;
  table: string;
  name: string;
  /** Elements as printed (strings, numbers, {prefix}, {range}, {concat}); for maps `[key, value]` pairs. */
  elem: Json[];
  isMap: boolean;
}

export interface Ruleset {
  chains: Map<string, NftChain>;
  sets: Map<string, NftSet>;
  /** `family table` names present. */
  tables: Set<string>;
}

const key = (family: string, table: string, name: string): string => `${family} ${table} ${name}`;

export function chainOf(rs: Ruleset, family: string, table: string, name: string): NftChain | undefined {
  return rs.chains.get(key(family, table, name));
}

export function setOf(rs: Ruleset, family: string, table: string, name: string): NftSet | undefined {
  return rs.sets.get(key(family, table, name));
}

const num = (v: Json | undefined): number | undefined => (typeof v === 'number' ? v : undefined);
const str = (v: Json | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

/** Parses `nft -j list ruleset` output (the object, or its text). Unknown objects are ignored. */
export function parseRuleset(input: unknown): Ruleset {
  const doc = (typeof input === 'string' ? JSON.parse(input) : input) as { nftables?: Array<Record<string, Record<string, Json>>> };
  const rs: Ruleset = { chains: new Map(), sets: new Map(), tables: new Set() };
  const rules: NftRule[] = [];
  for (const o of doc?.nftables ?? []) {
    if (o.table) rs.tables.add(`${str(o.table.family)} ${str(o.table.name)}`);
    const ch = o.chain;
    if (ch) {
      const family = str(ch.family) ?? '';
      const table = str(ch.table) ?? '';
      const name = str(ch.name) ?? '';
      const c: NftChain = { family, table, name, rules: [] };
      if (typeof ch.hook === 'string') {
        c.hook = ch.hook;
        c.type = str(ch.type) ?? 'filter';
        c.prio = num(ch.prio) ?? 0;
        c.policy = ch.policy === 'drop' ? 'drop' : 'accept';
      }
      rs.chains.set(key(family, table, name), c);
    }
    const s = o.set ?? o.map;
    if (s) {
      const family = str(s.family) ?? '';
      const table = str(s.table) ?? '';
      const name = str(s.name) ?? '';
      const elem = Array.isArray(s.elem) ? s.elem : [];
      rs.sets.set(key(family, table, name), { family, table, name, elem, isMap: !!o.map || s.map !== undefined });
    }
    const r = o.rule;
    if (r) {
      rules.push({
        family: str(r.family) ?? '',
        table: str(r.table) ?? '',
        chain: str(r.chain) ?? '',
        handle: num(r.handle) ?? 0,
        ...(typeof r.comment === 'string' ? { comment: r.comment } : {}),
        expr: Array.isArray(r.expr) ? (r.expr.filter((e) => e && typeof e === 'object' && !Array.isArray(e)) as Expr[]) : [],
      });
    }
  }
  for (const r of rules) rs.chains.get(key(r.family, r.table, r.chain))?.rules.push(r);
  return rs;
}

/** Base chains of a hook over all tables of the IP families, in the kernel's order (priority). */
export function baseChains(rs: Ruleset, hook: string, family: 4 | 6): NftChain[] {
  const fams = family === 4 ? ['inet', 'ip'] : ['inet', 'ip6'];
  return [...rs.chains.values()]
    .filter((c) => c.hook === hook && fams.includes(c.family))
    .sort((a, b) => (a.prio ?? 0) - (b.prio ?? 0));
}

/** An expression value as nft prints it (best effort; for reasons, not for parsing back). */
export function valueText(v: Json | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'object') return String(v);
  if (Array.isArray(v)) return `{ ${v.map(valueText).join(', ')} }`;
  if ('payload' in v) {
    const p = v.payload as { protocol?: string; field?: string };
    return `${p.protocol ?? ''} ${p.field ?? ''}`.trim();
  }
  if ('meta' in v) return `meta ${(v.meta as { key?: string }).key ?? ''}`.replace(/^meta (iifname|oifname)$/, '$1');
  if ('ct' in v) return `ct ${(v.ct as { key?: string }).key ?? ''}`;
  if ('fib' in v) return `fib ${((v.fib as { flags?: string[] }).flags ?? []).join(' . ')} type`;
  if ('concat' in v) return (v.concat as Json[]).map(valueText).join(' . ');
  if ('prefix' in v) {
    const p = v.prefix as { addr?: Json; len?: Json };
    return `${valueText(p.addr)}/${valueText(p.len)}`;
  }
  if ('range' in v) return (v.range as Json[]).map(valueText).join('-');
  if ('set' in v) return `{ ${(Array.isArray(v.set) ? v.set : [v.set]).map(valueText).join(', ')} }`;
  if ('elem' in v) return valueText((v.elem as { val?: Json }).val);
  if ('map' in v) {
    const m = v.map as { key?: Json; data?: Json };
    return `${valueText(m.key)} map ${valueText(m.data)}`;
  }
  return JSON.stringify(v);
}

/** One statement or match as nft prints it. */
export function exprText(e: Expr): string {
  const [k, v] = Object.entries(e)[0] ?? ['', null];
  if (k === 'match') {
    const m = v as { op?: string; left?: Json; right?: Json };
    const op = m.op === '==' || m.op === 'in' ? '' : ` ${m.op ?? ''}`;
    return `${valueText(m.left)}${op} ${valueText(m.right)}`;
  }
  if (v === null) return k;
  if (k === 'jump' || k === 'goto') return `${k} ${(v as { target?: string }).target ?? ''}`;
  if (k === 'dnat' || k === 'snat') return `${k} to ${valueText((v as { addr?: Json }).addr)}`;
  return k;
}

/** The rule as `nft list` prints it, with its comment. */
export function ruleText(r: NftRule): string {
  const body = r.expr.map(exprText).join(' ');
  return r.comment ? `${body} comment "${r.comment}"` : body;
}
