/**
 * Docker's list filters: the `filters` query parameter is JSON, either `{"key":{"value":true}}` or the
 * old `{"key":["value"]}`. Matching follows moby's filters package: `match` is an exact match or a
 * regular-expression search, `exactMatch` is exact only, labels match `key` or `key=value`.
 *
 * Beware: a filters query is the client's text, of any size; an error names a key or value through
 * `clipEcho` so that a hostile query is not echoed whole. Unparsable JSON is Docker's bare `invalid filter`.
 */
import { invalidParameter } from './errors.js';
import { parseJson } from './json.js';

/** The longest part of a client's filter text an error message repeats. */
export const MAX_ECHO = 128;

/** `text` as an error message may quote it: at most MAX_ECHO characters, then `... (N characters)`. */
export function clipEcho(text: string): string {
  const chars = [...text];
  return chars.length <= MAX_ECHO ? text : `${chars.slice(0, MAX_ECHO).join('')}... (${chars.length} characters)`;
}

/** moby's filters.FromJSON: `{"key":{"value":true}}` or `{"key":["value"]}`, anything else `invalid filter`. */
function valuesOf(v: unknown): string[] | undefined {
  if (Array.isArray(v)) return v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
  if (v && typeof v === 'object' && Object.values(v).every((x) => typeof x === 'boolean')) return Object.keys(v);
  return undefined;
}

export class Filters {
  private constructor(private readonly args: Map<string, string[]>) {}

  static empty(): Filters {
    return new Filters(new Map());
  }

  static parse(text: string | null | undefined): Filters {
    if (!text) return Filters.empty();
    let raw: unknown;
    try {
      raw = parseJson(text);
    } catch {
      throw invalidParameter('filters.bad_json', 'invalid filter');
    }
    const args = new Map<string, string[]>();
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw invalidParameter('filters.bad_json', 'invalid filter');
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
      const values = valuesOf(v);
      if (!values) throw invalidParameter('filters.bad_json', 'invalid filter');
      args.set(k, values);
    }
    return new Filters(args);
  }

  /** Throws Docker's `invalid filter 'key'` for a key not in `accepted`. */
  validate(accepted: readonly string[]): this {
    for (const k of this.args.keys()) {
      if (!accepted.includes(k)) throw invalidParameter('filters.unknown', `invalid filter '${clipEcho(k)}'`);
    }
    return this;
  }

  /** Every key with its values, in the order of the query. */
  entries(): Array<[string, string[]]> {
    return [...this.args.entries()];
  }

  has(key: string): boolean {
    return (this.args.get(key)?.length ?? 0) > 0;
  }

  get(key: string): string[] {
    return this.args.get(key) ?? [];
  }

  exactMatch(key: string, value: string): boolean {
    const vs = this.args.get(key);
    return !vs || vs.length === 0 || vs.includes(value);
  }

  match(key: string, value: string): boolean {
    const vs = this.args.get(key);
    if (!vs || vs.length === 0) return true;
    return vs.some((p) => {
      if (p === value) return true;
      try {
        return new RegExp(p).test(value);
      } catch {
        return false;
      }
    });
  }

  /**
   * The `until` filter as Docker takes it (a Unix timestamp, an RFC 3339 date, or a Go duration
   * before now), in seconds since the epoch; undefined when absent.
   */
  until(): number | undefined {
    const vs = this.get('until');
    if (vs.length === 0) return undefined;
    if (vs.length > 1) throw invalidParameter('filters.until', 'more than one until filter specified');
    const v = vs[0] as string;
    if (/^\d+(\.\d+)?$/.test(v)) return Number(v);
    const d = /^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)$/.exec(v);
    if (d) {
      const unit: Record<string, number> = { ns: 1e-9, us: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
      return Date.now() / 1000 - Number(d[1]) * (unit[d[2] as string] ?? 1);
    }
    const t = Date.parse(v);
    if (Number.isNaN(t)) throw invalidParameter('filters.until', `failed to parse value as time or duration: "${clipEcho(v)}"`);
    return t / 1000;
  }

  /** True when any `key` or `key=value` of the filter is present in `labels` (for `label!`). */
  anyLabel(key: string, labels: Readonly<Record<string, string>>): boolean {
    return this.get(key).some((kv) => Filters.parse(JSON.stringify({ l: [kv] })).matchLabels('l', labels));
  }

  /** Every `key` or `key=value` of the filter is present in `labels`. */
  matchLabels(key: string, labels: Readonly<Record<string, string>>): boolean {
    const vs = this.args.get(key);
    if (!vs || vs.length === 0) return true;
    return vs.every((kv) => {
      const i = kv.indexOf('=');
      if (i < 0) return Object.hasOwn(labels, kv);
      const k = kv.slice(0, i);
      return Object.hasOwn(labels, k) && labels[k] === kv.slice(i + 1);
    });
  }
}
