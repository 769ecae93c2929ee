/**
 * Parsing and making image config documents, and the ids derived from them.
 *
 * Beware: configs written by Go carry `null` for empty lists and maps (`"Cmd": null`); the parsed
 * view drops them so the rest of redes only sees absent or real values.
 */
import { createHash } from 'node:crypto';
import { invalidParameter, nowRfc3339Nano } from '../util/index.js';
import type { ImageConfig, ImageSpec } from './types.js';

export const DIGEST = /^sha256:[a-f0-9]{64}$/;

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Docker's name for the host CPU (GOARCH). */
export function hostArchitecture(): string {
  const map: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return map[process.arch] ?? process.arch;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parse config bytes (the result is frozen); throws invalid-parameter when it is not an image config. */
export function parseSpec(bytes: Buffer): ImageSpec {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw invalidParameter('image.config', 'invalid image config: not JSON');
  }
  if (!isObject(doc) || !isObject(doc.rootfs) || !Array.isArray(doc.rootfs.diff_ids)) {
    throw invalidParameter('image.config', 'invalid image config: no rootfs.diff_ids');
  }
  const diffIds: unknown[] = doc.rootfs.diff_ids;
  if (!diffIds.every((d): d is string => typeof d === 'string' && DIGEST.test(d))) {
    throw invalidParameter('image.config', 'invalid image config: bad diff id');
  }
  const spec = { ...doc } as unknown as ImageSpec;
  spec.architecture = typeof doc.architecture === 'string' ? doc.architecture : '';
  spec.os = typeof doc.os === 'string' ? doc.os : '';
  spec.rootfs = { type: typeof doc.rootfs.type === 'string' ? doc.rootfs.type : 'layers', diff_ids: diffIds };
  spec.config = isObject(doc.config) ? withoutNulls(doc.config) : {};
  if (!Array.isArray(doc.history)) delete spec.history;
  return deepFreeze(spec); // shared by every Image record handed out
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

function withoutNulls(o: Record<string, unknown>): ImageConfig {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null)) as ImageConfig;
}

/** Layer chain ids (what Docker reports for deleted layers), lowest first. */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? d : sha256(`${prev} ${d}`));
  }
  return out;
}

/** The config `docker import` writes: one layer, the changes' config, the message as comment. */
export function importSpec(diffId: string, config: ImageConfig, message?: string): ImageSpec {
  const created = nowRfc3339Nano();
  const comment = message ? { comment: message } : {};
  return {
    architecture: hostArchitecture(),
    ...comment,
    config,
    created,
    history: [{ created, ...comment }],
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: [diffId] },
  };
}

export interface CommitOptions {
  author?: string;
  comment?: string;
  /** The history entry's `created_by` (Docker: the container's command). */
  createdBy?: string;
}

/** The config `docker commit` writes: the parent's, one more layer and history entry, the new config. */
export function commitSpec(parent: ImageSpec, diffId: string, config: ImageConfig, opts: CommitOptions = {}): ImageSpec {
  const created = nowRfc3339Nano();
  const entry = { created, ...(opts.author ? { author: opts.author } : {}), ...(opts.createdBy ? { created_by: opts.createdBy } : {}), ...(opts.comment ? { comment: opts.comment } : {}) };
  const { author: _a, comment: _c, ...rest } = parent;
  return {
    ...rest,
    architecture: parent.architecture || hostArchitecture(),
    os: parent.os || 'linux',
    ...(opts.author ? { author: opts.author } : {}),
    ...(opts.comment ? { comment: opts.comment } : {}),
    config,
    created,
    history: [...(parent.history ?? []), entry],
    rootfs: { type: 'layers', diff_ids: [...parent.rootfs.diff_ids, diffId] },
  };
}
