/**
 * `redes sandbox up --uplink`: the daemon's registry connections leave through the network
 * namespace where `sandbox up` ran (a user's machine with internet), while its containers stay in
 * the sandbox. A small HTTP CONNECT proxy runs in that namespace and listens on a unix socket in
 * the sandbox's exec-root (unix sockets ignore network namespaces); the daemon gets
 * `--registry-uplink <socket>` and opens its registry connections through it (images/registry/http.ts).
 *
 * Use: `uplinkServer(dial)` is the proxy (tests give it a fake `dial`); `ensureUplinkProxy(paths)`
 * starts `node uplink-proxy.js --socket S --sandbox N` detached, here; `stopUplinkProxy(paths)`.
 *
 * Beware: only `CONNECT host:port` with a plain host name or IPv4 address and a port is accepted;
 * the socket is 0600 (root's daemon only). Our tests never start it: it reaches outside our
 * namespaces by design.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { chmod, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pidAlive, pidCmdline, readPidfile, startDetached, stopPid, writePidfile } from '../kernel/index.js';
import type { SandboxPaths } from './layout.js';

const PROGRAM = fileURLToPath(new URL('./uplink-proxy.js', import.meta.url));

export type Dial = (host: string, port: number) => Socket;

const MAX_HEAD = 8192;
const HOST = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** `CONNECT registry-1.docker.io:443 HTTP/1.1` → host and port; undefined when not acceptable. */
export function parseConnect(head: string): { host: string; port: number } | undefined {
  const m = /^CONNECT ([^\s:]+):(\d{1,5}) HTTP\/1\.[01]\r\n/.exec(head);
  const port = Number(m?.[2]);
  if (!m?.[1] || !HOST.test(m[1]) || !(port >= 1 && port <= 65535)) return undefined;
  return { host: m[1], port };
}

/** The proxy: one CONNECT per connection, then bytes both ways. */
export function uplinkServer(dial: Dial = (host, port) => createConnection({ host, port })): Server {
  // Half-open: a client's end is passed on, and the answer still comes back.
  return createServer({ allowHalfOpen: true }, (client) => {
    let head = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_HEAD) client.end('HTTP/1.1 431 Request Header Fields Too Large\r\n\r\n');
        return;
      }
      client.off('data', onData);
      const target = parseConnect(head.subarray(0, end + 2).toString('latin1'));
      if (!target) return void client.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      client.pause();
      const up = dial(target.host, target.port);
      up.once('error', (e) => {
        if (client.writable && !up.remoteAddress) client.end(`HTTP/1.1 502 Bad Gateway\r\n\r\n${e.message}`);
        else client.destroy();
      });
      up.once('connect', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        const rest = head.subarray(end + 4);
        if (rest.length) up.write(rest);
        client.pipe(up).pipe(client);
        client.resume();
      });
      client.once('error', () => up.destroy());
      client.once('close', () => up.destroy());
    };
    client.on('data', onData);
  });
}

/** Run the proxy on `socket` until killed (uplink-proxy.ts). */
export async function serveUplink(socket: string): Promise<void> {
  await rm(socket, { force: true });
  const server = uplinkServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, resolve);
  });
  await chmod(socket, 0o600);
  process.stdout.write('ready\n');
}

export const uplinkSocket = (p: SandboxPaths): string => join(p.execRoot, 'uplink.sock');
const uplinkPid = (p: SandboxPaths): string => join(p.execRoot, 'uplink.pid');

async function isOurs(pid: number, p: SandboxPaths): Promise<boolean> {
  const argv = await pidCmdline(pid);
  return !!argv && argv.includes(PROGRAM) && argv.includes(uplinkSocket(p));
}

/** Start the proxy in the caller's namespace unless ours runs. */
export async function ensureUplinkProxy(p: SandboxPaths): Promise<{ pid: number; started: boolean }> {
  const old = await readPidfile(uplinkPid(p));
  if (old !== undefined && (await pidAlive(old)) && (await isOurs(old, p))) return { pid: old, started: false };
  const pid = await startDetached([process.execPath, PROGRAM, '--socket', uplinkSocket(p), '--sandbox', p.hostNetns], {
    logPath: join(p.execRoot, 'uplink.log'),
    readyLine: 'ready',
  });
  await writePidfile(uplinkPid(p), pid);
  return { pid, started: true };
}

export async function stopUplinkProxy(p: SandboxPaths): Promise<void> {
  const pid = await readPidfile(uplinkPid(p));
  if (pid !== undefined && (await pidAlive(pid)) && (await isOurs(pid, p))) await stopPid(pid, { graceMs: 1_000 });
}
