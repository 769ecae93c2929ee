/**
 * `ADD <URL>` as the classic builder does it: the daemon downloads the file over its own connections
 * (the way its registry connections go: the engine's resolver and uplink, never a container's
 * network) into a fresh directory of the build's scratch space. The file is named after the URL
 * path's last segment, else the answer's Content-Disposition filename, else it has no name (then
 * the destination must name it); mode 0600, mtime from Last-Modified (the epoch without one); it is
 * never unpacked, archive or not.
 *
 * Use: `const src = await downloadSource(fetch, url, dest, tmpDir, progress)`; `src.dir` holds the file
 * `src.file`, which COPY's planning takes as a source; remove `src.dir` after the step.
 *
 * Beware: the file is downloaded on every build, as dockerd does: the step's cache key is its
 * content (name, mode and bytes), so an unchanged file is a cache hit. Error texts are dockerd's
 * (`failed to GET URL with status 404 Not Found: body`).
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, mkdir, open, utimes } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { posix, join } from 'node:path';
import { invalidParameter, notFound, unavailable } from '../util/index.js';
import { progressBar, type JsonMessage } from '../images/index.js';

const UNNAMED = '__unnamed__';
const ERROR_BODY_LIMIT = 64 << 10;

export type UrlFetch = (url: URL) => Promise<IncomingMessage>;

/** `ADD` takes a source as a URL when it starts so (dockerd's urlutil.IsURL, case and all). */
export const isUrlSource = (s: string): boolean => s.startsWith('http://') || s.startsWith('https://');

/** The file name dockerd gives a download: the path's last segment, else Content-Disposition's filename; '' when neither. */
export function downloadName(path: string, contentDisposition: string | undefined): string {
  if (path !== '' && !path.endsWith('/')) {
    const base = posix.basename(path);
    if (base !== '') return base;
  }
  const name = dispositionFilename(contentDisposition ?? '');
  return name && !name.endsWith('/') ? posix.basename(name) : '';
}

/** The `filename` (or RFC 5987 `filename*`) parameter of a Content-Disposition value. */
export function dispositionFilename(value: string): string {
  const params = new Map<string, string>();
  for (const m of value.split(';').slice(1).join(';').matchAll(/\s*([^=\s;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g)) {
    const key = (m[1] ?? '').toLowerCase();
    let v = (m[2] ?? '').trim();
    if (v.startsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    if (key === 'filename*') {
      const star = /^([^']*)'[^']*'(.*)$/.exec(v);
      if (star && /^utf-8$/i.test(star[1] ?? '')) {
        try {
          params.set('filename', decodeURIComponent(star[2] ?? ''));
        } catch {
          // a malformed encoding: no name from it
        }
      }
    } else if (key === 'filename' && !params.has('filename')) params.set('filename', v);
  }
  return params.get('filename') ?? '';
}

export interface Downloaded {
  /** The directory holding the file (remove it after the step). */
  dir: string;
  /** The file's name in `dir`. */
  file: string;
}

export async function downloadSource(fetch: UrlFetch, source: string, dest: string, tmpDir: string, progress: (m: JsonMessage) => void): Promise<Downloaded> {
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    throw invalidParameter('build.add_url', `ADD failed: parse "${source}": invalid URL`);
  }
  let res: IncomingMessage;
  try {
    res = await fetch(url);
  } catch (e) {
    throw unavailable('build.add_url_unreachable', `ADD failed: Get "${source}": ${(e as Error).message}`);
  }
  const status = res.statusCode ?? 0;
  if (status >= 400) throw await statusError(res, source);
  const name = downloadName(decodeURIComponent(url.pathname), res.headers['content-disposition']);
  if (name === '' && dest.endsWith('/')) {
    res.resume();
    throw invalidParameter('build.add_url', `ADD failed: cannot determine filename for source ${source}`);
  }
  const dir = join(tmpDir, `url-${randomBytes(4).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  const file = name || UNNAMED;
  const total = Number(res.headers['content-length'] ?? -1);
  const fh = await open(join(dir, file), constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    let current = 0;
    let last = 0;
    for await (const chunk of res as AsyncIterable<Buffer>) {
      await fh.write(chunk);
      current += chunk.length;
      const now = Date.now();
      if (now - last > 100) {
        last = now;
        progress({ status: 'Downloading', progressDetail: { current, total }, progress: progressBar(current, total) });
      }
    }
    if (!res.complete) throw unavailable('build.add_url_unreachable', `ADD failed: Get "${source}": unexpected EOF`);
  } finally {
    await fh.close();
  }
  await chmod(join(dir, file), 0o600); // whatever the umask
  const modified = Date.parse(res.headers['last-modified'] ?? '');
  const mtime = Number.isNaN(modified) || modified < 0 ? new Date(0) : new Date(modified);
  await utimes(join(dir, file), mtime, mtime);
  return { dir, file };
}

async function statusError(res: IncomingMessage, source: string): Promise<Error> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    if (n < ERROR_BODY_LIMIT) parts.push(chunk);
    n += chunk.length;
  }
  const text = `ADD failed: failed to GET ${source} with status ${res.statusCode ?? 0} ${res.statusMessage ?? ''}: ${Buffer.concat(parts).toString('utf8').trim()}`;
  return res.statusCode === 404 ? notFound('build.add_url_not_found', text) : invalidParameter('build.add_url', text);
}
