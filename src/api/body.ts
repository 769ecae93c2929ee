/** Reading request bodies and writing JSON answers, with Docker's errors for bad input. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalidParameter } from '../util/index.js';

const MAX_JSON = 16 * 1024 * 1024;

export async function readJson<T>(req: IncomingMessage): Promise<T | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_JSON) throw invalidParameter('api.body_too_large', 'request body too large');
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return undefined;
  try {
    return JSON.parse(text) as T;
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
