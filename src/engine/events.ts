/**
 * The daemon's event stream (`GET /events`, `docker events`): what happened to containers, networks,
 * volumes and images, in Docker's message shape, kept in a bounded ring for `since` and delivered
 * live to subscribers, each with Docker's filters.
 *
 * Use: `bus.emit('container', 'start', id, attrs)`; `bus.replay(opts)` + `bus.subscribe(fn)` for
 * the API; `eventFilter(filters)` builds the predicate.
 * Beware: container events carry the legacy `status`/`id`/`from` fields as dockerd still sends
 * them; `Action` may carry details after ": " (`exec_create: sh -c x`, `health_status: healthy`),
 * and the `event` filter matches the part before it as well as the whole.
 */
import { invalidParameter, Filters } from '../util/index.js';

export type EventType = 'container' | 'network' | 'volume' | 'image' | 'daemon';

export interface EventMessage {
  status?: string;
  id?: string;
  from?: string;
  Type: EventType;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
}

const RING = 2048;
const FILTERS = ['container', 'event', 'image', 'label', 'network', 'type', 'volume', 'scope', 'daemon'];

export class EventBus {
  private readonly ring: EventMessage[] = [];
  private readonly subscribers = new Set<(e: EventMessage) => void>();

  emit(type: EventType, action: string, id: string, attributes: Record<string, string> = {}): EventMessage {
    const nowNs = BigInt(Date.now()) * 1_000_000n + process.hrtime.bigint() % 1_000_000n;
    const e: EventMessage = {
      ...(type === 'container' || type === 'image' ? { status: action, id, ...(attributes.image ? { from: attributes.image } : {}) } : {}),
      Type: type,
      Action: action,
      Actor: { ID: id, Attributes: attributes },
      scope: 'local',
      time: Number(nowNs / 1_000_000_000n),
      timeNano: Number(nowNs),
    };
    this.ring.push(e);
    if (this.ring.length > RING) this.ring.shift();
    for (const fn of this.subscribers) fn(e);
    return e;
  }

  /** Events already seen with `since ≤ time ≤ until` (nanoseconds). */
  replay(sinceNs: number, untilNs = Number.POSITIVE_INFINITY): EventMessage[] {
    return this.ring.filter((e) => e.timeNano >= sinceNs && e.timeNano <= untilNs);
  }

  subscribe(fn: (e: EventMessage) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }
}

/** Docker's `since`/`until`: unix seconds with an optional fraction (the CLI sends that form). */
export function parseEventTime(v: string, what: string): number {
  const m = /^(\d+)(?:\.(\d{1,9}))?$/.exec(v.trim());
  if (!m) throw invalidParameter('events.time', `invalid value for ${what}: ${v}`);
  return Number(m[1]) * 1e9 + Number((m[2] ?? '').padEnd(9, '0'));
}

/** Docker's event filters as a predicate. */
export function eventFilter(filters: string | null | undefined): (e: EventMessage) => boolean {
  const f = Filters.parse(filters).validate(FILTERS);
  const attr = (e: EventMessage, k: string): string => e.Actor.Attributes[k] ?? '';
  const anyOf = (key: string, ...values: string[]): boolean => !f.has(key) || f.get(key).some((want) => values.some((v) => v && (v === want || (want.length >= 12 && v.startsWith(want)))));
  return (e) => {
    const base = e.Action.split(':')[0] as string;
    if (f.has('type') && !f.get('type').includes(e.Type)) return false;
    if (f.has('event') && !f.get('event').some((w) => w === e.Action || w === base)) return false;
    if (f.has('scope') && !f.get('scope').includes('local')) return false;
    if (f.has('container') && !(e.Type === 'container' ? anyOf('container', e.Actor.ID, attr(e, 'name')) : anyOf('container', attr(e, 'container')) && attr(e, 'container') !== '')) return false;
    if (f.has('network') && !(e.Type === 'network' && anyOf('network', e.Actor.ID, attr(e, 'name')))) return false;
    if (f.has('volume') && !(e.Type === 'volume' && anyOf('volume', e.Actor.ID))) return false;
    if (f.has('image') && !anyOf('image', attr(e, 'image'), e.Type === 'image' ? e.Actor.ID : '', e.Type === 'image' ? attr(e, 'name') : '')) return false;
    if (f.has('label') && !f.matchLabels('label', e.Actor.Attributes)) return false;
    return true;
  };
}
