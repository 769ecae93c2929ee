/**
 * Image references as Docker parses them (the distribution/reference grammar): `busybox`,
 * `busybox:1.36`, `docker.io/library/busybox`, `localhost:5000/team/app:v1`, `name@sha256:...`.
 *
 * Use `parseNamed` for names given by users (errors carry Docker's texts), `familiar` for the short
 * form Docker prints and the store keys tags by (`busybox:latest`, never `docker.io/library/...`).
 *
 * Beware: a bare 64-hex string is an image id, never a name, and an id prefix like `abc` is also a
 * valid name: the store tries the name first, then the id prefix, as Docker does.
 */
import { invalidParameter, type RedesError } from '../util/index.js';

export interface NamedRef {
  /** Normalized name: `docker.io/library/busybox`, `localhost:5000/app`. */
  name: string;
  tag?: string;
  digest?: string;
}

const DEFAULT_DOMAIN = 'docker.io';
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const REFERENCE = new RegExp(
  `^((?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::([\\w][\\w.-]{0,127}))?(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$`,
);
const TAG = /^[\w][\w.-]{0,127}$/;
export const HEX_ID = /^[a-f0-9]{64}$/;
export const FULL_IMAGE_ID = /^sha256:[a-f0-9]{64}$/;

const badFormat = (detail?: string): RedesError =>
  invalidParameter('image.reference', detail ? `invalid reference format: ${detail}` : 'invalid reference format');

/** Parse a user-given name (Docker's ParseNormalizedNamed). Throws invalid-parameter errors. */
export function parseNamed(s: string): NamedRef {
  if (HEX_ID.test(s)) {
    throw invalidParameter('image.reference', `invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  const [domain, remainder] = splitDomain(s);
  const colon = remainder.indexOf(':');
  const remote = colon >= 0 ? remainder.slice(0, colon) : remainder.split('@')[0] ?? remainder;
  if (remote.toLowerCase() !== remote) throw badFormat(`repository name (${remote}) must be lowercase`);
  const m = REFERENCE.exec(`${domain}/${remainder}`);
  if (!m?.[1]) throw badFormat();
  if (m[1].length > 255) throw invalidParameter('image.reference', 'repository name must not be more than 255 characters');
  const ref: NamedRef = { name: m[1] };
  if (m[2]) ref.tag = m[2];
  if (m[3]) ref.digest = m[3];
  return ref;
}

/** Split off the registry domain the way Docker does (a first part with `.` or `:`, or `localhost`). */
function splitDomain(s: string): [string, string] {
  const i = s.indexOf('/');
  const first = i >= 0 ? s.slice(0, i) : '';
  let domain = DEFAULT_DOMAIN;
  let remainder = s;
  if (i >= 0 && (/[.:]/.test(first) || first === 'localhost' || first.toLowerCase() !== first)) {
    domain = first === 'index.docker.io' ? DEFAULT_DOMAIN : first;
    remainder = s.slice(i + 1);
  }
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = `library/${remainder}`;
  return [domain, remainder];
}

/** `docker.io/library/busybox` → `busybox`; `docker.io/team/app` → `team/app`. */
export function familiarName(name: string): string {
  if (!name.startsWith(`${DEFAULT_DOMAIN}/`)) return name;
  const rest = name.slice(DEFAULT_DOMAIN.length + 1);
  const short = rest.startsWith('library/') ? rest.slice('library/'.length) : rest;
  return short.includes('/') ? rest : short;
}

/** The familiar string of a reference, with `latest` added when it has neither tag nor digest. */
export function familiarTagged(ref: NamedRef): string {
  const name = familiarName(ref.name);
  if (ref.digest && !ref.tag) return `${name}@${ref.digest}`;
  return `${name}:${ref.tag ?? 'latest'}`;
}

/** Parse `repo` plus an optional separate `tag` (the `POST /images/{name}/tag` form) into a tag key. */
export function tagKey(repo: string, tag?: string): string {
  const ref = parseNamed(repo);
  if (ref.digest) throw invalidParameter('image.reference', 'refusing to create a tag with a digest reference');
  if (tag) {
    if (!TAG.test(tag)) throw badFormat();
    if (ref.tag) throw badFormat();
    ref.tag = tag;
  }
  return familiarTagged(ref);
}

/** Strip an optional `sha256:`: the hex part of an id or id prefix. */
export function idHex(id: string): string {
  return id.startsWith('sha256:') ? id.slice(7) : id;
}

/** `sha256:abcdef...` → `abcdef012345` (Docker's TruncateID). */
export function shortImageId(id: string): string {
  return idHex(id).slice(0, 12);
}
