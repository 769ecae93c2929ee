/**
 * The `platform` query parameter of container create, image pull and build (`--platform`). This
 * engine stores and runs images of its own platform only, so another platform is refused by name
 * rather than ignored (an ignored `--platform linux/arm64` would hand back an amd64 container).
 *
 * Use: `checkLocalPlatform(query.get('platform'), '--platform')` before acting on the request;
 * `foreignPlatform` where the refusal has a text of its own (`docker save`).
 *
 * Beware: spellings are normalized as containerd's platforms package does for the common cases
 * (case, `x86_64`/`x86-64` for amd64, `aarch64` for arm64); a variant is accepted with its architecture.
 */
import { hostArchitecture } from '../images/index.js';
import { invalidParameter } from '../util/index.js';

const ARCH_ALIASES: Record<string, string> = { 'x86_64': 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', i386: '386' };

/** The OS/architecture/variant of a platform string, normalized; undefined when it is not one. */
export function parsePlatform(value: string): { os: string; architecture?: string; variant?: string } | undefined {
  const parts = value.trim().toLowerCase().split('/');
  if (parts.length > 3 || parts.some((p) => !/^[a-z0-9_.-]+$/.test(p))) return undefined;
  const [os = '', arch, variant] = parts;
  const architecture = arch === undefined ? undefined : (ARCH_ALIASES[arch] ?? arch);
  return { os, ...(architecture !== undefined ? { architecture } : {}), ...(variant !== undefined ? { variant } : {}) };
}

/**
 * The platform `value` names, normalized as `os/arch[/variant]`, when it is not this host's; undefined
 * when `value` is empty or the local platform. Throws Docker's 400 when `value` is not a platform.
 */
export function foreignPlatform(value: string | null | undefined, what: string): string | undefined {
  if (!value) return undefined;
  const p = parsePlatform(value);
  if (!p) throw invalidParameter('api.platform', `${what}: "${value}": unknown operating system or architecture: invalid argument`);
  if (p.os === 'linux' && (p.architecture === undefined || p.architecture === hostArchitecture())) return undefined;
  return [p.os, p.architecture, p.variant].filter((s) => s !== undefined).join('/');
}

/**
 * A `platform` query value as API 1.48+ sends it for save and load (JSON of an OCI platform,
 * `{"architecture":"amd64","os":"linux"}`), as `os/arch[/variant]`; a plain string is returned as is.
 */
export function platformQuery(value: string): string {
  if (!value.trim().startsWith('{')) return value;
  let p: unknown;
  try {
    p = JSON.parse(value);
  } catch {
    p = undefined;
  }
  const o = (p && typeof p === 'object' ? p : {}) as Record<string, unknown>;
  const parts = [o['os'], o['architecture'], o['variant']].filter((s) => typeof s === 'string' && s !== '');
  if (typeof o['os'] !== 'string' || !o['os']) throw invalidParameter('api.platform', `failed to parse platform: invalid platform: ${JSON.stringify(value.slice(0, 128))}`);
  return parts.join('/');
}

/** Throws a 400 naming `what` unless `value` is empty or this host's platform (linux/<host arch>). */
export function checkLocalPlatform(value: string | null | undefined, what: string): void {
  if (foreignPlatform(value, what) === undefined) return;
  throw invalidParameter('api.platform', `${what} ${value ?? ''} is not supported by this engine: it stores and runs linux/${hostArchitecture()} images only`);
}
