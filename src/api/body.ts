/**
 * Reading request bodies and writing JSON answers, with Docker's errors for bad input.
 * Beware: a JSON body over MAX_JSON is refused with 413 and the rest of it is not read (the
 * connection is then closed the lingering way, see http-status.ts and connection.ts). dockerd has no such limit (it decodes JSON as a stream); ours keeps one client
 * from holding a daemon's memory, far above any real request (a create with a large Env is KBs).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalidParameter, parseJson, tooLarge } from '../util/index.js';

export const MAX_JSON = 16 * 1024 * 1024;

/** 413 when the declared or the received size passes `limit`. */
export function tooLargeError(limit: number): Error {
  return tooLarge('api.body_too_large', `request body too large: more than ${limit} bytes`);
}

/**
 * The whole body, or a 413 as soon as its declared or received size passes `limit`. The request is
 * then left flowing (what the parser still delivers is dropped) and not destroyed: destroying it
 * would reset the connection under the 413 the error path is about to write.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.reject(tooLargeError(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size <= limit) chunks.push(c);
      else {
        stop();
        req.resume();
        reject(tooLargeError(limit));
      }
    };
    const onEnd = (): void => (stop(), resolve(Buffer.concat(chunks)));
    const onError = (e: Error): void => (stop(), reject(e));
    const onClose = (): void => (stop(), reject(new Error('request body: the connection closed before its end')));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.once('close', onClose);
  });
}

export async function readJson<T>(req: IncomingMessage): Promise<T | undefined> {
  const text = (await readBody(req, MAX_JSON)).toString('utf8').trim();
  if (!text) return undefined;
  try {
    return parseJson(text) as T;
  } catch (e) {
    throw invalidParameter('api.bad_json', `invalid JSON: ${(e as Error).message}`);
  }
}

/** Like readJson, but an empty body is Docker's "request body is empty" error where one is required. */
export async function requireJson<T>(req: IncomingMessage): Promise<T> {
  const v = await readJson<T>(req);
  if (v === undefined || v === null) throw invalidParameter('api.empty_body', 'invalid JSON: got EOF while reading request body');
  if (typeof v !== 'object' || Array.isArray(v)) throw invalidParameter('api.bad_json', 'invalid JSON: expected an object');
  return v;
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value) + '\n';
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status);
  res.end();
}

/** Docker's boolean query values: 1/true/True; anything else but empty is false (`0`, `false`). */
export function queryBool(q: URLSearchParams, key: string): boolean {
  const v = q.get(key);
  return v !== null && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}
