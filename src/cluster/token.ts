/**
 * Swarm join tokens and ids, in Docker's format: `SWMTKN-1-<digest>-<secret>`, where digest is the
 * SHA-256 of the cluster CA certificate in base 36 (50 characters) and secret 128 random bits in
 * base 36 (25 characters). A joining node checks the manager's CA against the digest before it trusts
 * anything the manager says (no trust on first use); the manager checks the secret, whose match
 * decides the role (worker or manager token).
 *
 * Use: `joinToken(caPem, newSecret())`, `parseJoinToken(token)` (undefined when malformed),
 * `caDigest(caPem)`, `newSwarmId()` for node and cluster ids (25 base-36 characters, like Docker's).
 *
 * Beware: secrets are compared in constant time (`secretMatches`).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const base36 = (buf: Buffer, width: number): string => BigInt(`0x${buf.toString('hex')}`).toString(36).padStart(width, '0');

/** The CA digest a token carries: SHA-256 of the certificate's PEM text, base 36, 50 characters. */
export function caDigest(caPem: string): string {
  return base36(createHash('sha256').update(caPem.trim()).digest(), 50);
}

/** A new token secret: 128 random bits in base 36, 25 characters. */
export function newSecret(): string {
  return base36(randomBytes(16), 25);
}

/** A new node or cluster id: 25 base-36 characters (Docker's look). */
export function newSwarmId(): string {
  return base36(randomBytes(16), 25);
}

export function joinToken(caPem: string, secret: string): string {
  return `SWMTKN-1-${caDigest(caPem)}-${secret}`;
}

export interface ParsedToken {
  digest: string;
  secret: string;
}

const TOKEN = /^SWMTKN-1-([0-9a-z]{50})-([0-9a-z]{25})$/;

/** The parts of a well-formed token, or undefined. */
export function parseJoinToken(token: string): ParsedToken | undefined {
  const m = TOKEN.exec(token.trim());
  return m?.[1] && m[2] ? { digest: m[1], secret: m[2] } : undefined;
}

/** Constant-time comparison of two secrets. */
export function secretMatches(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
