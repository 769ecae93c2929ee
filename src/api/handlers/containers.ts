/**
 * Routes of `/containers` (create, list, inspect, lifecycle, wait, attach, logs, resize), exec
 * (exec.ts), and `POST /networks/{id}/connect|disconnect`. Each handler parses the query the way
 * dockerd does and leaves every decision about containers to the engine's ContainerService.
 *
 * Use: `containerRoutes(router, deps)`, plus `handleUpgrade(server, router)` (hijack.ts) for attach
 * and exec start; `containersOf(containers, networkId)` feeds network inspect.
 * Beware: wait answers its headers at once and the body only when the condition holds (the CLI's
 * `docker run` waits for those headers before it starts the container); logs likewise streams.
 */
import type { ContainerService, NetworkController } from '../../engine/index.js';
import { invalidParameter, isRedesError, RedesError, logger, drainOrClose } from '../../util/index.js';
import type { Router } from '../router.js';
import { queryBool, readJson, requireJson, sendEmpty, sendJson } from '../body.js';
import { checkLocalPlatform } from '../platform.js';
import { hijackable, pumpSession } from '../hijack.js';
import { encodeLogLine, parseDetachKeys, parseTail, parseUnixTime, streamContentType } from '../stream-framing.js';
import { compareVersions } from '../version.js';
import { containerInspectView, containerSummaryView, networkContainersView, type PortMap } from '../views/container.js';
import type { NetworkContainerView } from '../views/network.js';
import { execRoutes, parseResize } from './exec.js';

const log = logger.child({ component: 'api' });

export interface ContainerRoutesDeps {
  containers: ContainerService;
  networks: Pick<NetworkController, 'all'>;
  /** Running exec ids of a container (inspect's ExecIDs), which ContainerRecord lacks. */
  execIdsOf?: (containerId: string) => string[];
  /** The actual port bindings of a running container; derived from its config when absent. */
  portsOf?: (containerId: string) => PortMap | undefined;
}

/**
 * dockerode sends its whole options object both as the query string and as the body, so its create
 * body holds `name` too. dockerd's decoder ignores that key; the engine refuses unknown fields. The
 * key is accepted when it repeats the query's name (the query names the container, as in Docker) and
 * refused otherwise, since Docker would silently ignore a name given only in the body.
 */
export function withoutEchoedName(body: Record<string, unknown>, queryName: string): Record<string, unknown> {
  if (!('name' in body)) return body;
  const { name, ...rest } = body;
  if (name === null || name === '' || name === queryName) return rest;
  throw invalidParameter('container.body_name', `Config.name ${JSON.stringify(name)} is not supported by this engine: the container name is the "name" query parameter${queryName ? ` (${JSON.stringify(queryName)} here)` : ''}`);
}

const WAIT_CONDITIONS = ['not-running', 'next-exit', 'removed'];

/** Go's strconv.Atoi, with its error text (dockerd passes it through). */
function atoi(value: string): number {
  if (!/^[+-]?\d+$/.test(value)) throw invalidParameter('api.bad_integer', `strconv.Atoi: parsing ${JSON.stringify(value)}: invalid syntax`);
  return Number(value);
}

/** `?t=` and `?signal=` of stop and restart (signal from API 1.42). */
function stopOptions(query: URLSearchParams, version: string): { signal?: string; timeout?: number } {
  const opts: { signal?: string; timeout?: number } = {};
  const t = query.get('t');
  if (t) opts.timeout = atoi(t);
  const signal = query.get('signal');
  if (signal && compareVersions(version, '1.42') >= 0) opts.signal = signal;
  return opts;
}


export function containerRoutes(router: Router, deps: ContainerRoutesDeps): void {
  const { containers } = deps;
  const id = (params: Record<string, string>): string => params.id ?? '';

  router.on('POST', '/containers/create', async ({ req, res, query, version }) => {
    checkLocalPlatform(query.get('platform'), '--platform');
    const body = withoutEchoedName(await requireJson<Record<string, unknown>>(req), query.get('name') ?? '');
    const r = await containers.create(query.get('name') || undefined, body, version);
    sendJson(res, 201, { Id: r.id, Warnings: r.warnings });
  });

  router.on('GET', '/containers/json', ({ res, query }) => {
    const limit = query.get('limit') ? atoi(query.get('limit') as string) : undefined;
    const list = containers.list({ all: queryBool(query, 'all'), filters: query.get('filters'), ...(limit !== undefined ? { limit } : {}) });
    const now = Date.now();
    sendJson(res, 200, list.map((rec) => containerSummaryView(rec, now, { ...portsOf(deps, rec.id) })));
  });

  router.on('GET', '/containers/:id/json', ({ res, params }) => {
    const rec = containers.resolve(id(params));
    const networksById = new Map(deps.networks.all().map((n) => [n.id, n]));
    const extras = { ...portsOf(deps, rec.id), ...(deps.execIdsOf ? { execIds: deps.execIdsOf(rec.id) } : {}) };
    sendJson(res, 200, containerInspectView(rec, networksById, extras));
  });

  router.on('POST', '/containers/:id/start', async ({ req, res, params }) => {
    // A JSON object of at least 7 bytes or a chunked body: the pre-1.24 HostConfig-at-start.
    const len = Number(req.headers['content-length'] ?? 0);
    if (len > 7 || req.headers['transfer-encoding']) {
      throw invalidParameter('container.start_body', 'starting container with non-empty request body was deprecated since API v1.22 and removed in v1.24');
    }
    sendEmpty(res, (await containers.start(id(params))) ? 204 : 304);
  });

  router.on('POST', '/containers/:id/stop', async ({ res, params, query, version }) => {
    sendEmpty(res, (await containers.stop(id(params), stopOptions(query, version))) ? 204 : 304);
  });

  router.on('POST', '/containers/:id/restart', async ({ res, params, query, version }) => {
    await containers.restart(id(params), stopOptions(query, version));
    sendEmpty(res, 204);
  });

  router.on('POST', '/containers/:id/kill', async ({ res, params, query }) => {
    const name = id(params);
    try {
      await containers.kill(name, query.get('signal') || undefined);
    } catch (e) {
      // dockerd wraps every kill error here, "No such container" included.
      const prefix = `cannot kill container: ${name}: `;
      if (!isRedesError(e) || e.message.startsWith(prefix)) throw e;
      throw new RedesError(e.kind, e.code, prefix + e.message, { cause: e });
    }
    sendEmpty(res, 204);
  });

  router.on('POST', '/containers/:id/wait', async ({ res, params, query, version }) => {
    // Before API 1.30 there was no condition and the headers came with the result.
    const legacy = compareVersions(version, '1.30') < 0;
    const condition = legacy ? 'not-running' : query.get('condition') || 'not-running';
    if (!WAIT_CONDITIONS.includes(condition)) throw invalidParameter('container.wait_condition', `invalid condition: ${JSON.stringify(condition)}`);
    const rec = containers.resolve(id(params));
    const waiting = containers.wait(rec.id, condition); // registered before the client can go on
    if (!legacy) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
    }
    let body: Record<string, unknown>;
    try {
      const r = await waiting;
      body = r.Error ? { StatusCode: r.StatusCode, Error: r.Error } : { StatusCode: r.StatusCode };
    } catch (e) {
      if (legacy) throw e;
      body = { StatusCode: -1, Error: { Message: e instanceof Error ? e.message : String(e) } };
    }
    if (legacy) sendJson(res, 200, body);
    else res.end(JSON.stringify(body) + '\n');
  });

  // Greedy: `docker rm --link` sends `/containers//parent/alias?link=1`.
  router.on('DELETE', '/containers/:id*', async ({ res, params, query }) => {
    await containers.remove(id(params), { force: queryBool(query, 'force'), volumes: queryBool(query, 'v'), link: queryBool(query, 'link') });
    sendEmpty(res, 204);
  });

  router.on('POST', '/containers/:id/rename', async ({ res, params, query }) => {
    await containers.rename(id(params), query.get('name') ?? '');
    sendEmpty(res, 204);
  });

  router.on('POST', '/containers/:id/resize', async ({ res, params, query }) => {
    const { height, width } = parseResize(query);
    await containers.resize(id(params), height, width);
    sendEmpty(res, 200);
  });

  router.on(
    'POST',
    '/containers/:id/attach',
    hijackable(async (h) => {
      const q = h.query;
      const keys = parseDetachKeys(q.get('detachKeys') ?? '');
      const flags = { stdin: queryBool(q, 'stdin'), stdout: queryBool(q, 'stdout'), stderr: queryBool(q, 'stderr'), logs: queryBool(q, 'logs'), stream: queryBool(q, 'stream') };
      const session = await containers.attach(h.params.id ?? '', flags);
      let conn;
      try {
        conn = h.takeOver(streamContentType(session.tty, h.version));
      } catch (e) {
        session.close();
        throw e;
      }
      await pumpSession(conn, session, { multiplexed: !session.tty, detachKeys: session.tty ? keys : null });
    }),
  );

  router.on('GET', '/containers/:id/logs', async ({ res, params, query, version }) => {
    const stdout = queryBool(query, 'stdout');
    const stderr = queryBool(query, 'stderr');
    if (!stdout && !stderr) throw invalidParameter('logs.no_stream', "must specify at least one of 'stdout' or 'stderr'");
    const since = query.get('since');
    const until = query.get('until');
    const sinceNs = since ? parseUnixTime(since, 'since') : undefined;
    const untilNs = until && until !== '0' ? parseUnixTime(until, 'until') : undefined;
    const rec = containers.resolve(id(params));
    const tty = rec.config.Tty === true;
    const timestamps = queryBool(query, 'timestamps');
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    const lines = containers.logs(rec.id, {
      stdout,
      stderr,
      follow: queryBool(query, 'follow'),
      tail: parseTail(query.get('tail')),
      ...(sinceNs !== undefined ? { sinceNs } : {}),
      ...(untilNs !== undefined ? { untilNs } : {}),
      signal: abort.signal,
    });
    // The headers go out now: `logs -f` of a quiet container must not look like a hung request.
    res.writeHead(200, { 'Content-Type': streamContentType(tty, version) });
    res.flushHeaders();
    try {
      for await (const line of lines) {
        if (res.destroyed) break;
        if (!res.write(encodeLogLine(line, { tty, timestamps }))) await drainOrClose(res);
      }
      res.end();
    } catch (e) {
      if (abort.signal.aborted) return;
      log.error({ err: e, container: rec.id }, 'reading logs failed');
      res.destroy();
    }
  });

  router.on('POST', '/networks/:id*/connect', async ({ req, res, params }) => {
    const body = await bodyObject(req);
    await containers.connect(id(params), stringField(body.Container), body.EndpointConfig ?? null);
    sendEmpty(res, 200);
  });

  router.on('POST', '/networks/:id*/disconnect', async ({ req, res, params }) => {
    const body = await bodyObject(req);
    await containers.disconnect(id(params), stringField(body.Container), body.Force === true);
    sendEmpty(res, 200);
  });

  execRoutes(router, containers);
}

/** The `Containers` map of `GET /networks/{id}` (networkRoutes' `containersOf`). */
export function containersOf(containers: ContainerService, networkId: string): Record<string, NetworkContainerView> {
  return networkContainersView(containers.endpointsOfNetwork(networkId));
}

function portsOf(deps: ContainerRoutesDeps, containerId: string): { ports?: PortMap } {
  const ports = deps.portsOf?.(containerId);
  return ports ? { ports } : {};
}

/** Docker accepts an empty body for connect/disconnect (every field zero). */
async function bodyObject(req: Parameters<typeof readJson>[0]): Promise<Record<string, unknown>> {
  const v = await readJson<unknown>(req);
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw invalidParameter('api.bad_json', 'invalid JSON: expected an object');
  return v as Record<string, unknown>;
}

function stringField(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
