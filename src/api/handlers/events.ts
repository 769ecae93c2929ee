/**
 * `GET /events`: past events from the daemon's ring (since `since`, or all of them when only `until`
 * is given, as dockerd), then live ones until `until` (or until the client goes), one JSON document
 * per line, each passing Docker's filters.
 *
 * Use: `eventRoutes(router, { bus })`.
 * Beware: the headers go out at once (clients wait for them before they do what they want to
 * watch); an `until` in the past answers the replay and ends.
 */
import { eventFilter, parseEventTime, type EventBus, type EventMessage } from '../../engine/index.js';
import { invalidParameter } from '../../util/index.js';
import type { Router } from '../router.js';

export function eventRoutes(router: Router, deps: { bus: EventBus }): void {
  router.on('GET', '/events', async ({ res, query }) => {
    const since = query.get('since');
    const until = query.get('until');
    const sinceNs = since ? parseEventTime(since, 'since') : undefined;
    const untilNs = until ? parseEventTime(until, 'until') : undefined;
    if (sinceNs !== undefined && untilNs !== undefined && untilNs < sinceNs) {
      throw invalidParameter('events.window', `\`since\` time (${since}) cannot be after \`until\` time (${until})`);
    }
    const keep = eventFilter(query.get('filters'));
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    const send = (e: EventMessage): void => {
      if (keep(e) && !res.destroyed) res.write(JSON.stringify(e) + '\n');
    };
    // As dockerd: either bound asks for the ring (an `until` alone replays it all), so a client that
    // subscribes after what it came to watch still gets it.
    if (sinceNs !== undefined || untilNs !== undefined) for (const e of deps.bus.replay(sinceNs ?? 0, untilNs)) send(e);
    const nowNs = Date.now() * 1e6;
    if (untilNs !== undefined && untilNs <= nowNs) {
      res.end();
      return;
    }
    await new Promise<void>((resolve) => {
      const unsubscribe = deps.bus.subscribe((e) => {
        if (untilNs !== undefined && e.timeNano > untilNs) return;
        send(e);
      });
      const done = (): void => {
        unsubscribe();
        clearTimeout(timer);
        resolve();
      };
      const timer = untilNs !== undefined ? setTimeout(done, Math.max(0, (untilNs - nowNs) / 1e6)) : undefined;
      res.on('close', done);
    });
    if (!res.destroyed) res.end();
  });
}
