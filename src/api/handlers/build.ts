/**
 * `POST /build` (the classic builder, which the docker CLI uses without the buildx plugin) and
 * `POST /build/prune`. Query parameters are honoured or refused by name; the answer is Docker's
 * JSON stream (`stream` lines, `aux` with the image id, `error` lines).
 *
 * Use: `buildRoutes(router, { images, containers, tmpRoot })`.
 *
 * Beware: as in dockerd, an error before the first line of output (a bad Dockerfile, a missing
 * target) is the HTTP answer; after it, the error is the stream's last line and the status is 200.
 */
import type { IncomingMessage } from 'node:http';
import type { BuildDeps, BuildOptions } from '../../build/index.js';
import type { Credentials } from '../../images/index.js';
import { parseNamed, tagKey } from '../../images/index.js';
import { Filters, invalidParameter, logger, notImplemented, parseJson } from '../../util/index.js';
import { queryBool, sendJson } from '../body.js';
import { checkLocalPlatform } from '../platform.js';
import { statusOf } from '../http-status.js';
import type { RequestContext, Router } from '../router.js';
import { bodyStream, drain, writeStreamError } from './images.js';

const log = logger.child({ component: 'api.build' });

const BUILD_PRUNE_FILTERS = ['until', 'id', 'parent', 'type', 'description', 'inuse', 'shared', 'private'];

export function buildRoutes(router: Router, deps: BuildDeps): void {
  router.on('POST', '/build', (ctx) => build(deps, ctx));
  // The classic builder's cache is its hidden step images (`docker system prune` calls this too).
  router.on('POST', '/build/prune', async ({ res, query }) => {
    const f = Filters.parse(query.get('filters')).validate(BUILD_PRUNE_FILTERS);
    for (const k of BUILD_PRUNE_FILTERS) if (f.has(k)) throw notImplemented('build.prune_filter', `docker builder prune: the ${k} filter is not supported by this engine`);
    for (const p of ['keep-storage', 'reserved-space', 'max-used-space', 'min-free-space']) {
      const v = query.get(p);
      if (v && v !== '0') throw notImplemented('build.prune_option', `docker builder prune: ${p} is not supported by this engine`);
    }
    const { ids, space } = await deps.images.pruneBuildSteps();
    sendJson(res, 200, { CachesDeleted: ids.length > 0 ? ids : null, SpaceReclaimed: space });
  });
}

async function build(deps: BuildDeps, { req, res, query }: RequestContext): Promise<void> {
  let opts: BuildOptions;
  try {
    opts = buildOptions(query, req);
  } catch (e) {
    await drain(req);
    throw e;
  }
  let started = false;
  const line = (value: unknown): void => {
    if (!started) res.writeHead(200, { 'Content-Type': 'application/json' });
    started = true;
    res.write(`${JSON.stringify(value)}\r\n`);
  };
  try {
    // The builder (a dozen modules) loads at the first build, not with the daemon.
    const { runBuild } = await import('../../build/index.js');
    await runBuild(deps, opts, bodyStream(req), {
      stream: (text) => line({ stream: text }),
      progress: (m) => line(m),
      aux: (id) => line({ aux: { ID: id } }),
    });
  } catch (e) {
    await drain(req);
    if (!started) throw e;
    if (statusOf(e) >= 500) log.error({ err: e }, 'build failed');
    writeStreamError(res, e);
  }
  res.end();
}

/** Parameters to options: Docker's defaults, unsupported features refused by name. */
function buildOptions(q: URLSearchParams, req: IncomingMessage): BuildOptions {
  const refuse = (what: string): never => {
    throw notImplemented('build.option', `${what} is not supported by this engine's builder`);
  };
  const version = q.get('version');
  if (version === '2') refuse('BuildKit (version=2; build with DOCKER_BUILDKIT=0 or without the buildx plugin)');
  if (q.get('remote')) refuse('a remote build context (URL or git repository)');
  if (queryBool(q, 'squash')) refuse('--squash');
  if (jsonList(q, 'cachefrom').length > 0) refuse('--cache-from');
  if (q.get('outputs')) refuse('--output');
  if (q.get('cgroupparent')) refuse('--cgroup-parent');
  if (jsonList(q, 'ulimits').length > 0) refuse('--ulimit');
  const isolation = q.get('isolation');
  if (isolation && isolation !== 'default') refuse(`--isolation=${isolation}`);
  checkLocalPlatform(q.get('platform'), '--platform');
  const tags = q.getAll('t').map((t) => {
    parseNamed(t); // Docker's `invalid reference format` for a bad tag
    return tagKey(t);
  });
  const hostConfig: Record<string, unknown> = {};
  const num = (param: string, field: string): void => {
    const v = q.get(param);
    if (v !== null && v !== '' && v !== '0') {
      if (!/^-?\d+$/.test(v)) throw invalidParameter('build.param', `invalid ${param}: ${v}`);
      hostConfig[field] = Number(v);
    }
  };
  num('memory', 'Memory');
  num('memswap', 'MemorySwap');
  num('cpushares', 'CpuShares');
  num('cpuperiod', 'CpuPeriod');
  num('cpuquota', 'CpuQuota');
  num('shmsize', 'ShmSize');
  if (q.get('cpusetcpus')) hostConfig.CpusetCpus = q.get('cpusetcpus');
  if (q.get('cpusetmems')) hostConfig.CpusetMems = q.get('cpusetmems');
  const extraHosts = q.getAll('extrahosts').flatMap((h) => h.split(',')).filter(Boolean);
  if (extraHosts.length > 0) hostConfig.ExtraHosts = extraHosts;
  const auths = registryConfig(req);
  return {
    dockerfile: q.get('dockerfile') || 'Dockerfile',
    tags,
    buildArgs: jsonMap(q, 'buildargs') as Record<string, string | null>,
    labels: jsonMap(q, 'labels') as Record<string, string>,
    noCache: queryBool(q, 'nocache'),
    pull: queryBool(q, 'pull'),
    rm: q.get('rm') === null ? true : queryBool(q, 'rm'),
    forceRm: queryBool(q, 'forcerm'),
    networkMode: q.get('networkmode') || 'default',
    target: q.get('target') || undefined,
    quiet: queryBool(q, 'q'),
    hostConfig,
    creds: (ref) => {
      const host = parseNamed(ref).name.split('/')[0] ?? '';
      return auths[host] ?? (host === 'docker.io' ? auths['https://index.docker.io/v1/'] : undefined);
    },
  };
}

function jsonMap(q: URLSearchParams, name: string): Record<string, string | null> {
  const v = q.get(name);
  if (!v) return {};
  try {
    const o: unknown = parseJson(v);
    if (o && typeof o === 'object' && !Array.isArray(o) && Object.values(o).every((x) => x === null || typeof x === 'string')) return o as Record<string, string | null>;
  } catch {
    // fall through
  }
  throw invalidParameter('build.param', `invalid ${name}: ${v}`);
}

function jsonList(q: URLSearchParams, name: string): unknown[] {
  const v = q.get(name);
  if (!v) return [];
  try {
    const o: unknown = parseJson(v);
    if (Array.isArray(o)) return o;
  } catch {
    // fall through
  }
  throw invalidParameter('build.param', `invalid ${name}: ${v}`);
}

/** X-Registry-Config: base64url JSON of registry → credentials, for pulls of FROM images. */
function registryConfig(req: IncomingMessage): Record<string, Credentials> {
  const h = req.headers['x-registry-config'];
  if (typeof h !== 'string' || !h) return {};
  try {
    const v: unknown = parseJson(Buffer.from(h, 'base64url').toString('utf8'));
    return v && typeof v === 'object' ? (v as Record<string, Credentials>) : {};
  } catch {
    throw invalidParameter('build.registry_config', 'invalid X-Registry-Config header');
  }
}


