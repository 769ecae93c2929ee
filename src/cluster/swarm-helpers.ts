/**
 * Small pieces of the swarm flow: waiting for etcd to accept a member, bounding a store call,
 * refusing node availabilities redes has no use for, and the hex form of a token's CA digest.
 *
 * Use: from swarm.ts only.
 */
import { notImplemented } from '../util/index.js';
import type { EtcdClusterStore } from './etcd-store.js';

/**
 * etcd refuses a new voting member until every member has been connected for 5 s ("unhealthy
 * cluster", its strict reconfiguration check): right after another join it is retried for 15 s.
 */
export async function addMemberWhenReady(store: EtcdClusterStore, url: string): Promise<Awaited<ReturnType<EtcdClusterStore['addMember']>>> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      return await store.addMember(url);
    } catch (e) {
      if (!/unhealthy cluster|circuit breaker is open/.test((e as Error).message) || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** `p`, or a rejection after `ms` (the etcd client's own deadline does not cover every call). */
export function bounded<T>(p: Promise<T>, ms = 3000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export function checkAvailability(a: string | undefined): void {
  if (a && a !== 'active') throw notImplemented('swarm.availability', `redes does not support node availability "${a}": its nodes run no swarm tasks`);
}

/** The hex form of a base-36 digest (Docker prints the expected fingerprint in hex). */
export function base36ToHex(d: string): string {
  let n = 0n;
  for (const ch of d) n = n * 36n + BigInt(parseInt(ch, 36));
  return n.toString(16).padStart(64, '0');
}
