/**
 * The embedded DNS server: one UDP socket and one TCP listener on 127.0.0.11:53 inside each
 * container's network namespace, all served by the daemon's event loop, all answering from one
 * shared name table (`records`) through the asking container's view (its networks, link aliases and
 * upstream servers).
 *
 * Use:
 *   const dns = new EmbeddedDns({ upstreamTimeoutMs: 1000 });
 *   dns.records.setContainer(id, endpoints);  dns.setView(id, view);
 *   await dns.attach(id, '/run/netns/x-c-0123456789ab');   // start answering in that namespace
 *   dns.forget(id);                                        // records, view and sockets gone
 *
 * Beware: names change at once for everybody (one table, no caches, no files). A container whose view
 * has no upstream servers gets SERVFAIL for foreign names (internal networks: nothing leaves). The
 * sockets are made in the container's namespace by the kernel layer's addon; this module never
 * switches namespaces itself.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type DecodedPacket } from 'dns-packet';
import { openSocketsInNetns, type NetnsSockets } from '../kernel/index.js';
import { logger } from '../util/index.js';
import { answerLocally, encodeForUdp, reply, udpLimit, type ClientView } from './answer.js';
import { forwardTcp, forwardUdp } from './forwarder.js';
import { DnsRecords } from './records.js';

const log = logger.child({ component: 'dns' });

export const EMBEDDED_DNS_ADDRESS = '127.0.0.11';
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 1000;
/** A TCP client that sends nothing for this long is dropped. */
const TCP_IDLE_MS = 10_000;

export interface EmbeddedDnsOptions {
  /** Budget for one forwarded query before the client gets SERVFAIL (default 1000 ms; Docker: 4 s). */
  upstreamTimeoutMs?: number;
  /** Where the sockets come from; tests pass their own. Default: the kernel addon. */
  openSockets?: (nsPath: string, ipv4: string, port: number) => NetnsSockets;
  address?: string;
  port?: number;
}

interface Listener {
  nsPath: string;
  udp: dgram.Socket;
  tcp: net.Server;
}

const NO_VIEW: ClientView = { networkIds: [], links: new Map(), upstream: [] };

export class EmbeddedDns {
  readonly records = new DnsRecords();
  private readonly views = new Map<string, ClientView>();
  private readonly listeners = new Map<string, Listener>();
  private readonly timeoutMs: number;
  private readonly open: (nsPath: string, ipv4: string, port: number) => NetnsSockets;
  private readonly address: string;
  private readonly port: number;

  constructor(opts: EmbeddedDnsOptions = {}) {
    this.timeoutMs = opts.upstreamTimeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;
    this.open = opts.openSockets ?? openSocketsInNetns;
    this.address = opts.address ?? EMBEDDED_DNS_ADDRESS;
    this.port = opts.port ?? 53;
  }

  setView(containerId: string, view: ClientView): void {
    this.views.set(containerId, view);
  }

  isAttached(containerId: string): boolean {
    return this.listeners.has(containerId);
  }

  /** Starts answering inside the namespace at nsPath for this container (idempotent). */
  async attach(containerId: string, nsPath: string): Promise<void> {
    const old = this.listeners.get(containerId);
    if (old?.nsPath === nsPath) return;
    if (old) this.detach(containerId);
    const { udpFd, tcpFd } = this.open(nsPath, this.address, this.port);
    const udp = dgram.createSocket('udp4');
    const tcp = net.createServer((c) => this.serveTcp(containerId, c));
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind({ fd: udpFd }, () => resolve());
      });
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ fd: tcpFd }, () => resolve());
      });
    } catch (e) {
      closeQuietly(udp);
      tcp.close();
      throw e;
    }
    udp.on('error', (e) => log.warn({ err: e, containerId }, 'dns udp socket error'));
    tcp.on('error', (e) => log.warn({ err: e, containerId }, 'dns tcp listener error'));
    udp.on('message', (msg, rinfo) => {
      void this.handle(containerId, msg, 'udp').then((out) => {
        // The container may have stopped while a forwarded query was out: its socket is closed then.
        if (!out || this.listeners.get(containerId)?.udp !== udp) return;
        udp.send(out, rinfo.port, rinfo.address, (e) => {
          if (e) log.debug({ err: e, containerId }, 'dns reply not sent');
        });
      });
    });
    this.listeners.set(containerId, { nsPath, udp, tcp });
  }

  /** Stops answering for the container (its records stay until `forget` or `records.deleteContainer`). */
  detach(containerId: string): void {
    const l = this.listeners.get(containerId);
    if (!l) return;
    this.listeners.delete(containerId);
    closeQuietly(l.udp);
    l.tcp.close();
  }

  /** Everything about the container goes: sockets, view, records. */
  forget(containerId: string): void {
    this.detach(containerId);
    this.views.delete(containerId);
    this.records.deleteContainer(containerId);
  }

  close(): void {
    for (const id of [...this.listeners.keys()]) this.detach(id);
  }

  /** The reply to one query from the container, or undefined to stay silent (undecodable input). */
  async handle(containerId: string, msg: Buffer, proto: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    let q: DecodedPacket;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return undefined;
    }
    const view = this.views.get(containerId) ?? NO_VIEW;
    const encode = (p: dnsPacket.Packet): Buffer => (proto === 'udp' ? encodeForUdp(p, udpLimit(q)) : dnsPacket.encode(p));
    const local = answerLocally(q, view, this.records);
    if (local) return encode(local);
    if (view.upstream.length > 0) {
      const r = proto === 'udp' ? await forwardUdp(msg, view.upstream, this.timeoutMs) : await forwardTcp(msg, view.upstream, this.timeoutMs);
      if (r) return r;
    }
    return encode(reply(q, [], 'SERVFAIL'));
  }

  private serveTcp(containerId: string, c: net.Socket): void {
    let buf = Buffer.alloc(0);
    c.setTimeout(TCP_IDLE_MS, () => c.destroy());
    c.on('error', () => c.destroy());
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        void this.handle(containerId, msg, 'tcp').then((out) => {
          if (!out || c.destroyed) return;
          const len = Buffer.alloc(2);
          len.writeUInt16BE(out.length);
          c.write(Buffer.concat([len, out]));
        });
      }
    });
  }
}

function closeQuietly(s: dgram.Socket): void {
  try {
    s.close();
  } catch {
    // already closed
  }
}
