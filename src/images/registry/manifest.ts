/**
 * Manifests as registries serve them: image indexes / manifest lists (pick the platform), and
 * image manifests (Docker schema 2, OCI) with a config and layers.
 *
 * Use: `parseManifest(bytes, mediaType)` → `{ kind: 'index', manifests }` or `{ kind: 'image', ... }`;
 * `pickPlatform(index, 'linux', 'amd64')`.
 *
 * Beware: the media type comes from the document when it has one, else from Content-Type. Schema 1
 * manifests (signed, deprecated) are refused with Docker 28's reason.
 */
import { invalidParameter } from '../../util/index.js';
import { DIGEST } from '../spec.js';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

export type Manifest =
  | { kind: 'index'; mediaType: string; manifests: Descriptor[] }
  | { kind: 'image'; mediaType: string; config: Descriptor; layers: Descriptor[] };

export const INDEX_TYPES = ['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json'];
export const IMAGE_TYPES = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'];
export const LAYER_GZIP = ['application/vnd.docker.image.rootfs.diff.tar.gzip', 'application/vnd.oci.image.layer.v1.tar+gzip'];
export const LAYER_ZSTD = ['application/vnd.oci.image.layer.v1.tar+zstd', 'application/vnd.docker.image.rootfs.diff.tar.zstd'];
export const LAYER_TAR = ['application/vnd.oci.image.layer.v1.tar', 'application/vnd.docker.image.rootfs.diff.tar'];
const FOREIGN = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip';

const bad = (m: string): Error => invalidParameter('registry.manifest', m);

function descriptor(d: unknown): Descriptor {
  const o = d as Partial<Descriptor> | null;
  if (!o || typeof o.digest !== 'string' || !DIGEST.test(o.digest) || typeof o.size !== 'number') throw bad('invalid manifest: bad descriptor');
  return { mediaType: typeof o.mediaType === 'string' ? o.mediaType : '', digest: o.digest, size: o.size, platform: o.platform, annotations: o.annotations };
}

export function parseManifest(bytes: Buffer, contentType: string): Manifest {
  let doc: { mediaType?: string; schemaVersion?: number; manifests?: unknown[]; config?: unknown; layers?: unknown[] };
  try {
    doc = JSON.parse(bytes.toString('utf8')) as typeof doc;
  } catch {
    throw bad('invalid manifest: not JSON');
  }
  if (doc.schemaVersion === 1) {
    throw bad('Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed');
  }
  const mediaType = doc.mediaType ?? contentType;
  if (INDEX_TYPES.includes(mediaType) || (!doc.config && Array.isArray(doc.manifests))) {
    return { kind: 'index', mediaType, manifests: (doc.manifests ?? []).map(descriptor) };
  }
  if (!doc.config || !Array.isArray(doc.layers)) throw bad(`unsupported manifest media type "${mediaType}"`);
  const layers = doc.layers.map(descriptor).filter((l) => l.mediaType !== FOREIGN);
  return { kind: 'image', mediaType: mediaType || IMAGE_TYPES[0] || '', config: descriptor(doc.config), layers };
}

/** The index entry for os/architecture (variant ignored unless given); undefined when none fits. */
export function pickPlatform(manifests: readonly Descriptor[], os: string, architecture: string, variant?: string): Descriptor | undefined {
  const fits = manifests.filter((m) => m.platform?.os === os && m.platform.architecture === architecture && (!variant || m.platform.variant === variant));
  return fits[0];
}
