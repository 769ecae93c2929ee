/**
 * Reading request bodies and writing JSON answers, with Docker's errors for bad input.
 * Beware: a JSON body over MAX_JSON is refused with 413 (the connection is then closed, see
 * http-status.ts). dockerd has no such limit (it decodes JSON as a stream); ours keeps one client
 * from holding a daemon's memory, far above any real request (a create with a large Env is KBs).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalidParameter, parseJson, tooLarge } from '../util/index.js';

export const MAX_JSON = 16 * 1024 * 1024;

/** 413 when the declared or the received size passes `limit`. */
export function tooLargeError(limit: number): Error {
  return tooLarge('api.body_too_large', `request body too large: more than ${limit} bytes`);
}

export async function readJson<T>(req: IncomingMessage): Promise<T | undefined> {
  if (Number(req.headers['content-length'] ?? 0) > MAX_JSON) throw tooLargeError(MAX_JSON);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_JSON) throw tooLargeError(MAX_JSON);
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
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
