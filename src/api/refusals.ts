/**
 * The answers to a request the server cannot take as HTTP (a head it cannot parse, one over the
 * size limit, an HTTP/1.1 request without its Host header), in the bytes dockerd's HTTP server
 * (Go's net/http, conn.serve) writes: the status line, `Content-Type: text/plain; charset=utf-8`,
 * `Connection: close`, no length, and a body that repeats the status (`400 Bad Request`, or with
 * the reason Go gives: `400 Bad Request: missing required Host header`); the connection is closed.
 * Use: `refusalOf(err.code)` in the server's clientError listener; `headRefusal(req)` before a
 * request (or an upgrade) is routed.
 * Beware: these are not API errors (no JSON): Go answers them before any handler runs.
 */
import type { IncomingMessage } from 'node:http';

/** A whole answer that closes the connection, in Go's shape; `body` defaults to the status line. */
export function plainRefusal(status: string, body = status): string {
  return `HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n${body}`;
}

/** Node's parse error codes with an answer of their own; any other parse error is a plain 400. */
const BY_PARSE_ERROR: Readonly<Record<string, string>> = {
  HPE_HEADER_OVERFLOW: plainRefusal('431 Request Header Fields Too Large'),
  // Go answers a transfer coding other than chunked with 501 and a fixed body (it never echoes the
  // coding back). Node refuses it while parsing.
  HPE_INVALID_TRANSFER_ENCODING: plainRefusal('501 Not Implemented', 'Unsupported transfer encoding'),
  // Chunk extensions too long for Node's parser (Go has no such limit to answer for): a 413.
  HPE_CHUNK_EXTENSIONS_OVERFLOW: plainRefusal('413 Payload Too Large'),
};

export function refusalOf(parseErrorCode: string | undefined): string {
  return BY_PARSE_ERROR[parseErrorCode ?? ''] ?? plainRefusal('400 Bad Request');
}

/** The bytes Go lets into a Host header (x/net httpguts validHostByte): lenient, no full URI grammar. */
const HOST_BYTES = /^[0-9A-Za-z!$%&'()*+,\-.:;=[\]_~]*$/;

/**
 * Go's checks of a parsed head, in its order (net/http readRequest, then conn.readRequest): from
 * HTTP/1.1 on, a Transfer-Encoding other than one `chunked` is 501 (Node's parser refuses some
 * only once the request was dispatched, and takes `gzip, chunked`); HTTP/1.x only (Node's parser
 * takes `HTTP/2.0` in a request line, Go answers 505); then an HTTP/1.1 request (other than
 * CONNECT) must carry a Host header, only one, made of the bytes above. Node's own Host check
 * (requireHostHeader) is off so that the answer is Go's.
 */
export function headRefusal(req: IncomingMessage): string | undefined {
  const from11 = req.httpVersionMajor > 1 || (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1);
  const codings = req.headersDistinct['transfer-encoding'];
  if (from11 && codings !== undefined && (codings.length !== 1 || codings[0]?.toLowerCase() !== 'chunked')) return BY_PARSE_ERROR.HPE_INVALID_TRANSFER_ENCODING;
  if (req.httpVersionMajor !== 1) return plainRefusal('505 HTTP Version Not Supported: unsupported protocol version');
  const hosts = req.headersDistinct.host ?? [];
  let reason: string | undefined;
  if (from11 && hosts.length === 0 && req.method !== 'CONNECT') reason = 'missing required Host header';
  else if (hosts.length > 1) reason = 'too many Host headers';
  else if (hosts.length === 1 && !HOST_BYTES.test(hosts[0] ?? '')) reason = 'malformed Host header';
  return reason === undefined ? undefined : plainRefusal(`400 Bad Request: ${reason}`);
}
