/**
 * Routes of exec: create (`POST /containers/{id}/exec`), start (hijacked unless Detach), inspect
 * and resize. Also the `h`/`w` parsing that container resize shares.
 *
 * Beware: as in dockerd, exec start switches protocols before the process is started, so an error
 * starting it (no such executable, container stopped) reaches the client inside the stream, and the
 * CLI then reads the exit code from exec inspect.
 */
import type { ContainerService } from '../../engine/index.js';
import { invalidParameter, logger, parseJson } from '../../util/index.js';
import type { Router } from '../router.js';
import { readJson, sendEmpty, sendJson } from '../body.js';
import { hijackable, pumpSession } from '../hijack.js';
import { statusOf } from '../http-status.js';
import { frame, parseDetachKeys, streamContentType } from '../stream-framing.js';
import { compareVersions } from '../version.js';
import { execInspectView } from '../views/container.js';

const log = logger.child({ component: 'api' });

/** `h` and `w` of a resize: unsigned 32-bit, empty means 0 (Docker's messages). */
export function parseResize(query: URLSearchParams): { height: number; width: number } {
  const one = (key: 'h' | 'w', what: string): number => {
    const raw = query.get(key) ?? '';
    const v = raw.trim().toLowerCase();
    if (v === '') return 0;
    const n = Number(v);
    if (!/^\d+$/.test(v) || n > 0xffffffff) {
      const reason = /^\d+$/.test(v) ? 'value out of range' : 'invalid syntax';
      throw invalidParameter('api.bad_resize', `invalid resize ${what} ${JSON.stringify(raw)}: strconv.ParseUint: parsing ${JSON.stringify(v)}: ${reason}`);
    }
    return n;
  };
  return { height: one('h', 'height'), width: one('w', 'width') };
}

interface ExecStartBody {
  Detach?: unknown;
  Tty?: unknown;
  ConsoleSize?: unknown;
}

function parseStartBody(body: Buffer): ExecStartBody {
  const text = body.toString('utf8').trim();
  if (!text) return {};
  let v: unknown;
  try {
    v = parseJson(text);
  } catch (e) {
    throw invalidParameter('api.bad_json', `invalid JSON: ${(e as Error).message}`);
  }
  if (v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw invalidParameter('api.bad_json', 'invalid JSON: expected an object');
  return v as ExecStartBody;
}

function consoleSizeOf(v: unknown): [number, number] | undefined {
  if (!Array.isArray(v) || v.length !== 2) return undefined;
  const [h, w] = v as unknown[];
  if (typeof h !== 'number' || typeof w !== 'number') return undefined;
  // Docker's [2]uint: anything else is a decoding error (400), not runc's 500 at start.
  if (!Number.isSafeInteger(h) || !Number.isSafeInteger(w) || h < 0 || w < 0) {
    throw invalidParameter('api.field_type', 'invalid JSON: field ConsoleSize must be a list of two unsigned integers');
  }
  return [h, w];
}

function hasCmd(body: Record<string, unknown>): boolean {
  const cmd = body.Cmd;
  return (typeof cmd === 'string' && cmd !== '') || (Array.isArray(cmd) && cmd.length > 0);
}

/**
 * Resolves once the exec's exit code is recorded (or after 5 s). The CLI asks exec inspect for the
 * code as soon as the stream ends, so the stream must not end before that (dockerd ends it only
 * after the exit is recorded); the output may well end a moment before the engine learns the code.
 */
async function recorded(containers: ContainerService, execId: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    let e;
    try {
      e = containers.execInspect(execId);
    } catch {
      return;
    }
    if (!e.running) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function execRoutes(router: Router, containers: ContainerService): void {
  router.on('POST', '/containers/:id/exec', async ({ req, res, params, version }) => {
    const body = (await readJson<Record<string, unknown>>(req)) ?? {};
    if (typeof body !== 'object' || Array.isArray(body)) throw invalidParameter('api.bad_json', 'invalid JSON: expected an object');
    if (!hasCmd(body)) throw invalidParameter('exec.no_cmd', 'No exec command specified');
    if (compareVersions(version, '1.42') < 0) delete body.ConsoleSize;
    if (body.DetachKeys !== undefined && body.DetachKeys !== null) {
      if (typeof body.DetachKeys !== 'string') throw invalidParameter('api.field_type', 'invalid JSON: field DetachKeys must be a string');
      parseDetachKeys(body.DetachKeys); // Docker's 400 for a bad key, before anything is created
    }
    const id = await containers.execCreate(params.id ?? '', body);
    sendJson(res, 201, { Id: id });
  });

  router.on(
    'POST',
    '/exec/:id/start',
    hijackable(async (h) => {
      const opts = parseStartBody(h.body);
      const id = h.params.id ?? '';
      const exec = containers.execInspect(id); // 404 before anything is written
      const tty = opts.Tty === true;
      const consoleSize = tty && compareVersions(h.version, '1.42') >= 0 ? consoleSizeOf(opts.ConsoleSize) : undefined;
      const startOpts = { tty, ...(consoleSize ? { consoleSize } : {}) };
      if (opts.Detach === true) {
        await containers.execStart(id, { detach: true, ...startOpts });
        h.reply(200);
        return;
      }
      let keys: Buffer | null = null;
      try {
        keys = tty ? parseDetachKeys(exec.detachKeys) : null;
      } catch {
        keys = parseDetachKeys('');
      }
      const conn = h.takeOver(streamContentType(tty, h.version));
      let session;
      try {
        session = await containers.execStart(id, { detach: false, ...startOpts });
      } catch (e) {
        if (statusOf(e) >= 500) log.error({ err: e, exec: id }, 'exec start failed');
        const msg = Buffer.from(`${e instanceof Error ? e.message : String(e)}\r\n`);
        conn.output.end(tty ? msg : frame('stdout', msg));
        return;
      }
      if (!session) {
        conn.output.end();
        return;
      }
      await pumpSession(conn, session, { multiplexed: !tty, detachKeys: keys, beforeEnd: () => recorded(containers, id) });
    }),
  );

  router.on('GET', '/exec/:id/json', ({ res, params }) => {
    sendJson(res, 200, execInspectView(containers.execInspect(params.id ?? '')));
  });

  router.on('POST', '/exec/:id/resize', async ({ res, params, query }) => {
    const { height, width } = parseResize(query);
    await containers.execResize(params.id ?? '', height, width);
    sendEmpty(res, 200);
  });
}
