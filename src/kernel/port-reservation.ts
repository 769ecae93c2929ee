/**
 * Host-port reservation: while a port is published, the daemon holds a socket on that host ip:port
 * (a listening TCP server, a bound UDP socket) in its own network namespace, as dockerd does even
 * with its userland proxy off. A host process that already holds the port makes the publication fail
 * (EADDRINUSE), and no host process can take the port while it is published.
 *
 * Use: `const r = new PortReservations()`; `await r.reserve(owner, ports)` (all or nothing: on failure
 * the ones already bound are closed and a `PortReservationError` names the port and errno);
 * `await r.release(owner)` when the publication goes away.
 *
 * Beware: the sockets never carry traffic for published addresses: nftables DNATs in prerouting /
 * output, before any socket lookup. A connection that does reach one (e.g. [::1]:port, which is never
 * DNATed) is closed at once. `::` is bound v6-only, or it would collide with the 0.0.0.0 binding of
 * the same publication. SCTP is not reserved (Node has no SCTP sockets). The sockets live in the
 * calling process's network namespace: the daemon must run in the host namespace it publishes on.
 */
import dgram from 'node:dgram';
import net from 'node:net';

export interface ReservedPort {
  proto: 'tcp' | 'udp' | 'sctp';
  /** A host address, or 0.0.0.0 / :: for every address of the family. */
  hostIp: string;
  hostPort: number;
}

/** A port could not be bound; `code` is the errno name (EADDRINUSE, EADDRNOTAVAIL, ...). */
export class PortReservationError extends Error {
  constructor(
    readonly port: ReservedPort,
    readonly code: string,
    /** The OS text, as Go prints it ("address already in use"). */
    readonly reason: string,
  ) {
    super(`cannot bind ${port.hostIp}:${port.hostPort}/${port.proto}: ${reason}`);
    this.name = 'PortReservationError';
  }
}

/** Go's syscall texts for the errors a bind can give here. */
const REASONS: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'cannot assign requested address',
  EACCES: 'permission denied',
};

type Held = { close(): Promise<void> };

const isV6 = (ip: string): boolean => ip.includes(':');

function bindTcp(p: ReservedPort): Promise<Held> {
  return new Promise((resolve, reject) => {
    // Never serves: whatever reaches the socket itself (not DNATed) is dropped at once.
    const server = net.createServer((s) => s.destroy());
    server.once('error', reject);
    server.listen({ host: p.hostIp, port: p.hostPort, ipv6Only: isV6(p.hostIp), backlog: 1 }, () => {
      server.off('error', reject);
      server.on('error', () => undefined);
      server.unref();
      resolve({ close: () => new Promise<void>((done) => server.close(() => done())) });
    });
  });
}

function bindUdp(p: ReservedPort): Promise<Held> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket({ type: isV6(p.hostIp) ? 'udp6' : 'udp4', ipv6Only: isV6(p.hostIp) });
    sock.once('error', reject);
    sock.bind({ address: p.hostIp, port: p.hostPort, exclusive: true }, () => {
      sock.off('error', reject);
      sock.on('error', () => undefined);
      sock.on('message', () => undefined);
      sock.unref();
      resolve({ close: () => new Promise<void>((done) => sock.close(() => done())) });
    });
  });
}

export async function bindPort(p: ReservedPort): Promise<Held | undefined> {
  if (p.proto === 'sctp') return undefined;
  try {
    return await (p.proto === 'tcp' ? bindTcp(p) : bindUdp(p));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw new PortReservationError(p, code, REASONS[code] ?? code.toLowerCase());
  }
}

export class PortReservations {
  private readonly held = new Map<string, Held[]>();

  /**
   * Binds every port of `owner` (added to what it already holds); all or nothing. The binds go out
   * together (a container with 100 published ports waited for 100 listen callbacks in a row); on
   * failure the first port in `ports` order that failed is the one reported.
   */
  async reserve(owner: string, ports: readonly ReservedPort[]): Promise<void> {
    const results = await Promise.allSettled(ports.map((p) => bindPort(p)));
    const mine = results.flatMap((r) => (r.status === 'fulfilled' && r.value ? [r.value] : []));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.all(mine.map((h) => h.close()));
      throw failed.reason;
    }
    this.held.set(owner, [...(this.held.get(owner) ?? []), ...mine]);
  }

  /** Closes every socket of `owner`; a no-op when it holds none. */
  async release(owner: string): Promise<void> {
    const mine = this.held.get(owner) ?? [];
    this.held.delete(owner);
    await Promise.all(mine.map((h) => h.close()));
  }

  /** Closes everything (daemon shutdown). */
  async releaseAll(): Promise<void> {
    await Promise.all([...this.held.keys()].map((o) => this.release(o)));
  }

  owners(): string[] {
    return [...this.held.keys()];
  }
}
