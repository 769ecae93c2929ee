/**
 * Routes of `/images`: import and pull, load, save (`/images/get`), list, inspect, history, tag, remove, prune.
 *
 * Use: `imageRoutes(router, { images })` with the engine's `ImageService`.
 *
 * Beware: import, pull and load answer with Docker's JSON progress stream (one JSON object per line,
 * `\r\n`-terminated, Content-Type application/json, which is what makes the CLI decode it). As in
 * dockerd, import and pull errors found before anything was written are plain HTTP errors, while load
 * always answers 200 and reports failures inside the stream. Upload bodies are read through a
 * PassThrough so that a failing store never destroys the request (that would reset the connection
 * and the CLI would print a broken pipe instead of the message); the rest is drained before answering.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import type { Credentials, ImageService, LoadedImage } from '../../images/index.js';
import { errorMessage, invalidParameter, logger, parseJson } from '../../util/index.js';
import type { RequestContext, Router } from '../router.js';
import { queryBool, readJson, sendJson } from '../body.js';
import { checkLocalPlatform, foreignPlatform, platformQuery } from '../platform.js';
import { statusOf } from '../http-status.js';

export interface ImageRoutesDeps {
  images: ImageService;
}

const log = logger.child({ component: 'api.images' });

export function imageRoutes(router: Router, deps: ImageRoutesDeps): void {
  const { images } = deps;
  router.on('GET', '/images/json', ({ res, query }) => {
    sendJson(res, 200, images.list(query.get('filters')));
  });
  router.on('POST', '/images/create', (ctx) => createImage(images, ctx));
  router.on('POST', '/images/:name*/push', (ctx) => pushImage(images, ctx));
  router.on('POST', '/auth', async ({ req, res }) => {
    const body = ((await readJson(req)) ?? {}) as Credentials & { serveraddress?: string };
    await images.login(body.serveraddress ?? '', body);
    sendJson(res, 200, { Status: 'Login Succeeded', IdentityToken: '' });
  });
  router.on('POST', '/images/load', (ctx) => loadImages(images, ctx));
  router.on('POST', '/images/prune', async ({ res, query }) => {
    sendJson(res, 200, await images.prune(query.get('filters')));
  });
  router.on('GET', '/images/get', ({ res, query }) => saveImages(images, res, query.getAll('names'), query));
  router.on('GET', '/images/:name*/get', ({ res, params, query }) => saveImages(images, res, [params.name ?? ''], query));
  router.on('GET', '/images/:name*/json', ({ res, params }) => {
    sendJson(res, 200, images.inspect(params.name ?? ''));
  });
  router.on('GET', '/images/:name*/history', async ({ res, params }) => {
    sendJson(res, 200, await images.history(params.name ?? ''));
  });
  router.on('POST', '/images/:name*/tag', async ({ res, params, query }) => {
    await images.tag(params.name ?? '', query.get('repo') ?? '', query.get('tag') ?? undefined);
    res.writeHead(201);
    res.end();
  });
  router.on('DELETE', '/images/:name*', async ({ res, params, query }) => {
    // Untagged build steps below the image go with it unless `noprune` (docker rmi --no-prune).
    sendJson(res, 200, await images.remove(params.name ?? '', { force: queryBool(query, 'force'), noPrune: queryBool(query, 'noprune') }));
  });
}

/** `docker save`: one tar of the named images; a missing name or a foreign `platform` fails before any byte is sent. */
async function saveImages(images: ImageService, res: ServerResponse, names: string[], query: URLSearchParams): Promise<void> {
  // Every stored image is of the local platform: that one saves them all, another has nothing to export.
  const requested = query.getAll('platform').filter((v) => v !== '');
  if (requested.length > 1) throw invalidParameter('api.platform', 'multiple platform parameters not supported');
  const foreign = requested[0] === undefined ? undefined : foreignPlatform(platformQuery(requested[0]), '--platform');
  if (foreign !== undefined) throw invalidParameter('image.save_platform', `no suitable export target found for platform ${foreign}`);
  const content = images.save(names);
  res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  await new Promise<void>((resolve) => {
    content.on('error', (e) => {
      log.warn({ err: e }, 'save failed while streaming');
      res.destroy(e);
      resolve();
    });
    res.on('close', () => resolve());
    content.pipe(res);
  });
}

/** `POST /images/create`: `fromImage` is a pull (answered locally), `fromSrc=-` an import. */
async function createImage(images: ImageService, { req, res, query }: RequestContext): Promise<void> {
  const fromImage = query.get('fromImage');
  checkLocalPlatform(query.get('platform'), '--platform');
  if (fromImage) {
    await drain(req);
    const pull = await images.pullRemote(fromImage, query.get('tag') ?? undefined, registryAuth(req));
    startStream(res);
    if ('run' in pull) {
      try {
        await pull.run((m) => writeLine(res, m));
      } catch (e) {
        if (statusOf(e) >= 500) log.error({ err: e }, 'pull failed');
        writeStreamError(res, e);
      }
      res.end();
      return;
    }
    for (const tag of pull.tags) writeLine(res, { status: `Pulling from ${pull.path}`, id: tag });
    writeLine(res, { status: `Status: Image is up to date for ${pull.ref}` });
    res.end();
    return;
  }
  const src = query.get('fromSrc') ?? '';
  try {
    if (src !== '-') {
      // 400, not 501: the caller can fix it by sending the archive, and 5xx would be logged as ours.
      throw invalidParameter(
        'image.import_source',
        src
          ? 'importing from a URL is not supported: this engine has no network access (send the archive instead: docker import - < FILE)'
          : 'fromImage or fromSrc is required',
      );
    }
    const img = await images.importRootfs(bodyStream(req), {
      repo: query.get('repo') ?? undefined,
      tag: query.get('tag') ?? undefined,
      changes: query.getAll('changes'),
      message: query.get('message') || `Imported from ${src}`,
    });
    startStream(res);
    writeLine(res, { status: img.id });
    res.end();
  } catch (e) {
    await drain(req);
    throw e;
  }
}

/** `POST /images/{name}/push`: Docker's push progress; failures after the start go into the stream. */
async function pushImage(images: ImageService, { req, res, params, query }: RequestContext): Promise<void> {
  await drain(req);
  const name = params.name ?? '';
  const tag = query.get('tag') || undefined;
  if (tag) images.resolve(`${name}:${tag}`); // a missing image is a 404, before the stream starts
  startStream(res);
  try {
    await images.push(name, tag, registryAuth(req), (m) => writeLine(res, m));
  } catch (e) {
    if (statusOf(e) >= 500) log.error({ err: e }, 'push failed');
    writeStreamError(res, e);
  }
  res.end();
}

/** The CLI's credentials: base64url JSON in X-Registry-Auth (absent or `{}` for anonymous). */
export function registryAuth(req: IncomingMessage): Credentials | undefined {
  const h = req.headers['x-registry-auth'];
  if (typeof h !== 'string' || !h) return undefined;
  try {
    const v = parseJson(Buffer.from(h, 'base64url').toString('utf8')) as Credentials;
    return typeof v === 'object' && v !== null ? v : undefined;
  } catch {
    throw invalidParameter('registry.auth_header', 'invalid X-Registry-Auth header');
  }
}


/** `POST /images/load`: always 200; each image's lines as `docker load` prints them. */
async function loadImages(images: ImageService, { req, res }: RequestContext): Promise<void> {
  let loaded: LoadedImage[];
  try {
    loaded = await images.load(bodyStream(req));
  } catch (e) {
    await drain(req);
    if (statusOf(e) >= 500) log.error({ err: e }, 'load failed');
    startStream(res);
    writeStreamError(res, e);
    res.end();
    return;
  }
  startStream(res);
  for (const l of loaded) {
    for (const r of l.renamed) {
      writeLine(res, { stream: `The image ${r.ref} already exists, renaming the old one with ID ${r.oldId} to empty string\n` });
    }
    if (l.repoTags.length === 0) writeLine(res, { stream: `Loaded image ID: ${l.id}\n` });
    for (const t of l.repoTags) writeLine(res, { stream: `Loaded image: ${t}\n` });
  }
  res.end();
}

function startStream(res: ServerResponse): void {
  res.writeHead(200, { 'Content-Type': 'application/json' });
}

function writeLine(res: ServerResponse, value: unknown): void {
  res.write(`${JSON.stringify(value)}\r\n`);
}

/** Docker's in-stream error (jsonmessage): the CLI prints `message` and fails. */
export function writeStreamError(res: ServerResponse, e: unknown): void {
  const message = errorMessage(e);
  writeLine(res, { errorDetail: { message }, error: message });
}

/** The request body as a stream whose destruction leaves the request (and its socket) alone. */
export function bodyStream(req: IncomingMessage): Readable {
  const pt = new PassThrough();
  req.pipe(pt);
  req.once('error', (e) => pt.destroy(e));
  return pt;
}

/** Read and discard what is left of the body, so the answer reaches a client still uploading. */
export async function drain(req: IncomingMessage): Promise<void> {
  if (req.readableEnded || req.destroyed) return;
  req.unpipe();
  req.resume();
  await once(req, 'end').catch(() => undefined);
}
