/** Read-only questions about containers: lookup by id/name/prefix, list filters, counts. */
import type { Collection } from '../../store/index.js';
import { invalidParameter, notFound, Filters, clipEcho } from '../../util/index.js';
import type { ContainerRecord, EndpointRecord } from './container-types.js';

const LIST_FILTERS = ['id', 'name', 'status', 'label', 'network', 'exited', 'ancestor', 'before', 'since', 'health', 'volume', 'publish', 'expose', 'isolation', 'is-task'];
const STATUSES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];

export class ContainerQueries {
  constructor(protected readonly collection: Collection<ContainerRecord>) {}

  /** Docker's order: full id, exact name, unique id prefix. */
  resolve(term: string): ContainerRecord {
    const t = term.replace(/^\//, '');
    const byId = this.collection.get(t); // the common case (the CLI sends full ids): no scan
    if (byId) return byId;
    const byName = this.collection.findBy('name', t);
    if (byName) return byName;
    const all = this.collection.list();
    const byPrefix = t ? all.filter((c) => c.id.startsWith(t)) : [];
    if (byPrefix.length === 1) return byPrefix[0] as ContainerRecord;
    if (byPrefix.length > 1) throw invalidParameter('container.ambiguous', `multiple IDs found with provided prefix: ${t}`);
    throw notFound('container.not_found', `No such container: ${term}`);
  }

  protected findByName(name: string): ContainerRecord | undefined {
    return this.collection.findBy('name', name);
  }

  protected mustGet(id: string): ContainerRecord {
    const c = this.collection.get(id);
    if (!c) throw notFound('container.not_found', `No such container: ${id}`);
    return c;
  }

  list(opts: { all: boolean; filters?: string | null; limit?: number }): ContainerRecord[] {
    const f = Filters.parse(opts.filters).validate(LIST_FILTERS);
    for (const s of f.get('status')) {
      if (!STATUSES.includes(s)) throw invalidParameter('filters.status', `invalid filter 'status=${clipEcho(s)}'`);
    }
    const all = opts.all || f.has('status') || f.has('exited');
    let out = this.collection
      .list()
      .filter((c) => all || c.state.status === 'running')
      .filter(
        (c) =>
          f.match('id', c.id) &&
          f.match('name', c.name) &&
          f.exactMatch('status', c.state.status) &&
          f.matchLabels('label', (c.config.Labels as Record<string, string> | undefined) ?? {}) &&
          (!f.has('network') || Object.values(c.endpoints).some((e) => f.get('network').some((n) => n === e.networkName || e.networkId.startsWith(n)))) &&
          (!f.has('exited') || (c.state.status === 'exited' && f.get('exited').includes(String(c.state.exitCode)))) &&
          (!f.has('ancestor') || f.get('ancestor').some((a) => a === c.imageRef || c.image.includes(a))),
      )
      .reverse();
    if (opts.limit !== undefined && opts.limit > 0) out = out.slice(0, opts.limit);
    return out;
  }

  counts(): { containers: number; running: number; paused: number; stopped: number } {
    const all = this.collection.list();
    const running = all.filter((c) => c.state.status === 'running').length;
    return { containers: all.length, running, paused: 0, stopped: all.length - running };
  }

  endpointsOfNetwork(networkId: string): Array<{ container: ContainerRecord; endpoint: EndpointRecord }> {
    const out: Array<{ container: ContainerRecord; endpoint: EndpointRecord }> = [];
    for (const c of this.collection.list()) {
      if (c.state.status !== 'running') continue;
      for (const e of Object.values(c.endpoints)) if (e.networkId === networkId && e.endpointId) out.push({ container: c, endpoint: e });
    }
    return out;
  }

  /** Containers whose mounts name a volume (any state), and those of them running. */
  volumeUsers(name: string, runningOnly = false): string[] {
    return this.collection.list().filter((c) => (!runningOnly || c.state.status === 'running') && (c.mounts ?? []).some((m) => m.type === 'volume' && m.source === name)).map((c) => c.id);
  }
}
