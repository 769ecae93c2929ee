/**
 * Forwarding of queries the embedded DNS does not answer itself to upstream servers (the engine
 * host's resolv.conf, or the container's `--dns`), from the daemon's own namespace.
 *
 * Use: `await forwardUdp(query, servers, timeoutMs)` → the upstream's reply, or undefined when none
 * answered in time (the caller answers SERVFAIL); `forwardTcp` likewise for queries that came by TCP.
 *
 * Beware: `timeoutMs` is the budget of the whole query, not of each server (Docker waits 4 s per
 * server). UDP tries are staggered over the budget: server i is asked at i·budget/n unless an earlier
 * one answered, and a refused port (ICMP unreachable) moves on at once. Each try uses a fresh socket
 * with a random source port, and only a reply with the query's id is accepted.
 */
import dgram from 'node:dgram';
import net from 'node:net';

const DNS_PORT = 53;

function familyOf(server: string): 'udp4' | 'udp6' {
  return net.isIPv6(server) ? 'udp6' : 'udp4';
}

export function forwardUdp(query: Buffer, servers: readonly string[], timeoutMs: number): Promise<Buffer | undefined> {
  if (servers.length === 0 || query.length < 2) return Promise.resolve(undefined);
  const id = query.readUInt16BE(0);
  return new Promise((resolve) => {
    const sockets: dgram.Socket[] = [];
    const timers: NodeJS.Timeout[] = [];
    let next = 0;
    let failed = 0;
    let done = false;
    const finish = (r: Buffer | undefined): void => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) closeQuietly(s);
      resolve(r);
    };
    const tryNext = (): void => {
      if (done || next >= servers.length) return;
      const server = servers[next++] as string;
      const s = dgram.createSocket(familyOf(server));
      sockets.push(s);
      s.on('message', (msg) => {
        if (msg.length >= 12 && msg.readUInt16BE(0) === id) finish(msg);
      });
      s.on('error', () => {
        failed++;
        if (failed >= servers.length) finish(undefined);
        else tryNext();
      });
      s.connect(DNS_PORT, server, () => {
        if (!done) s.send(query, (e) => e && s.emit('error', e));
      });
    };
    const step = timeoutMs / servers.length;
    for (let i = 1; i < servers.length; i++) timers.push(setTimeout(tryNext, step * i));
    timers.push(setTimeout(() => finish(undefined), timeoutMs));
    tryNext();
  });
}

/** One query over TCP (2-byte length prefix), the servers in turn within the budget. */
export async function forwardTcp(query: Buffer, servers: readonly string[], timeoutMs: number): Promise<Buffer | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (const server of servers) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    const r = await tcpOnce(query, server, left).catch(() => undefined);
    if (r) return r;
  }
  return undefined;
}

function tcpOnce(query: Buffer, server: string, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: server, port: DNS_PORT });
    let buf = Buffer.alloc(0);
    const end = (r: Buffer | undefined): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => end(undefined), timeoutMs);
    sock.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      sock.write(Buffer.concat([len, query]));
    });
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) end(buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
    sock.on('error', () => end(undefined));
    sock.on('close', () => end(undefined));
  });
}

function closeQuietly(s: dgram.Socket): void {
  try {
    s.close();
  } catch {
    // already closed
  }
}
