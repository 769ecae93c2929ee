/**
 * Listening sockets inside another network namespace, and the interface names of one, by the
 * netns-socket addon (native/netns-socket.c, built by scripts/build-addon.sh into
 * dist/netns-socket.node): no program is spawned.
 *
 * Use: `const { udpFd, tcpFd } = openSocketsInNetns('/run/netns/x-c-0123', '127.0.0.11', 53)`, then
 * `dgram.createSocket('udp4').bind({ fd: udpFd })` and `net.createServer().listen({ fd: tcpFd })`.
 * The sockets stay in that namespace; the caller owns the fds (closing the Node objects closes them).
 * `interfaceNamesInNetns('/run/netns/x-c-0123')` gives `['lo', 'eth0']`.
 *
 * Beware: the addon switches the calling thread (Node's main thread) into the namespace with
 * setns(2) for the few system calls of the socket set-up and back before it returns; nothing else in
 * JavaScript may do that (see docs/platform notes). The call is synchronous and takes about 0.1 ms.
 */
import { createRequire } from 'node:module';

interface Addon {
  openSockets(nsPath: string, ipv4: string, port: number): [number, number];
  interfaceNames(nsPath: string): string[];
  setUdpBuffers(pid: number, bytes: number): number;
}

let addon: Addon | undefined;

function load(): Addon {
  if (!addon) {
    // dist/src/kernel/netns-socket.js → dist/netns-socket.node
    const require = createRequire(import.meta.url);
    addon = require('../../netns-socket.node') as Addon;
  }
  return addon;
}

export interface NetnsSockets {
  udpFd: number;
  tcpFd: number;
}

/** A UDP socket and a listening TCP socket on ipv4:port inside the namespace file at nsPath. */
export function openSocketsInNetns(nsPath: string, ipv4: string, port: number): NetnsSockets {
  const [udpFd, tcpFd] = load().openSockets(nsPath, ipv4, port);
  return { udpFd, tcpFd };
}

/** The names of every interface in the namespace file at nsPath (throws when it is not one). */
export function interfaceNamesInNetns(nsPath: string): string[] {
  return load().interfaceNames(nsPath);
}

/**
 * Sets the receive and send buffers of every UDP socket of process `pid` to `bytes` (SO_RCVBUFFORCE,
 * SO_SNDBUFFORCE, through pidfd_getfd: no cooperation of the process needed); returns how many
 * sockets it set. Throws when the process is gone or none could be set.
 */
export function setUdpBuffersOf(pid: number, bytes: number): number {
  return load().setUdpBuffers(pid, bytes);
}
