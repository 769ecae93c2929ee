/**
 * The outside world of a sandbox in one small program: DNS on ADDR:53 (UDP and TCP) for a tiny
 * zone, and HTTP on ADDR:80 answering 200 with a fixed text and a fixed Last-Modified for every
 * path but `/missing...` (404). The sandbox starts it inside the world (or lan) namespace with
 * `nsenter --net=...`.
 *
 * Use: node world-server.js --sandbox N [--dns 203.0.113.1 --zone world.test=203.0.113.1]
 *        --http 203.0.113.1 --text 'hello from world'
 * It prints `ready` on stdout once every socket listens, and from then on writes only to stderr
 * (the parent stops reading stdout). `--sandbox` only names the owner in the process list.
 *
 * Beware: it binds to the given addresses only, so it never listens anywhere outside its namespace.
 */
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { answerDns, type Zone } from './world-dns.js';

const DNS_PORT = 53;
const HTTP_PORT = 80;
const TCP_IDLE_MS = 30_000;

function log(msg: string): void {
  process.stderr.write(`${new Date().toISOString()} world-server: ${msg}\n`);
}

async function serveUdpDns(address: string, zone: Zone): Promise<void> {
  const sock = dgram.createSocket('udp4');
  sock.on('message', (msg, rinfo) => {
    const reply = answerDns(msg, zone);
    if (reply) sock.send(reply, rinfo.port, rinfo.address);
  });
  sock.on('error', (e) => log(`dns udp: ${e.message}`));
  sock.bind({ address, port: DNS_PORT });
  await once(sock, 'listening');
}

/** DNS over TCP: each message is preceded by its length in two bytes (RFC 1035 4.2.2). */
async function serveTcpDns(address: string, zone: Zone): Promise<void> {
  const server = net.createServer((conn) => {
    let buf = Buffer.alloc(0);
    conn.setTimeout(TCP_IDLE_MS, () => conn.destroy());
    conn.on('error', () => undefined);
    conn.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        const reply = answerDns(msg, zone);
        if (!reply) continue;
        const len = Buffer.alloc(2);
        len.writeUInt16BE(reply.length);
        conn.write(Buffer.concat([len, reply]));
      }
    });
  });
  server.listen({ host: address, port: DNS_PORT });
  await once(server, 'listening');
}

/** The Last-Modified of every answer: a fixed date, so a download's mtime can be checked. */
const WORLD_LAST_MODIFIED = 'Wed, 21 Oct 2015 07:28:00 GMT';

async function serveHttp(address: string, text: string): Promise<void> {
  const body = `${text}\n`;
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith('/missing')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      return void res.end('not found\n');
    }
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'last-modified': WORLD_LAST_MODIFIED });
    res.end(body);
  });
  server.listen({ host: address, port: HTTP_PORT });
  await once(server, 'listening');
}

function parseZone(entries: string[]): Map<string, string> {
  const zone = new Map<string, string>();
  for (const entry of entries) {
    const [name, address] = entry.split('=');
    if (!name || !address || net.isIPv4(address) === false) throw new Error(`invalid --zone "${entry}"`);
    zone.set(name.toLowerCase().replace(/\.$/, ''), address);
  }
  return zone;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sandbox: { type: 'string' },
      dns: { type: 'string' },
      zone: { type: 'string', multiple: true, default: [] },
      http: { type: 'string' },
      text: { type: 'string', default: 'hello' },
    },
  });
  const zone = parseZone(values.zone);
  if (values.dns) {
    await serveUdpDns(values.dns, zone);
    await serveTcpDns(values.dns, zone);
  }
  if (values.http) await serveHttp(values.http, values.text);
  log(`sandbox ${values.sandbox ?? '?'}: serving dns=${values.dns ?? '-'} http=${values.http ?? '-'}`);
  // The parent reads this line and then closes the pipe: never write stdout again.
  process.stdout.on('error', () => undefined);
  process.stdout.write('ready\n');
}

process.on('SIGTERM', () => process.exit(0));
main().catch((e: unknown) => {
  log(`failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
