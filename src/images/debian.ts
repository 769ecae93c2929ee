/**
 * `redes image debian`: a real Debian image from Debian's packages, for machines with no registry.
 * The rootfs comes from mmdebstrap (cached, debian-rootfs.ts); a server package adds its preset's
 * layer and defaults (debian-presets.ts); the result is a `docker save` archive, streamed, that the
 * daemon loads like `docker load`.
 *
 * Use: `const img = await debianImage({ suite: 'bookworm', packages: ['nginx-light'], tag: 'nginx' })`,
 * then send `img.archive()` to `POST /images/load` (or write it to a file for `docker load -i`).
 *
 * Beware: the config is deterministic for a cached rootfs (its time is the rootfs's build time), so
 * loading the same image twice gives the same image id. Labels say where the image comes from:
 * `io.redes.image.source=debian-packages`, with the suite and the packages asked for.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { invalidParameter } from '../util/index.js';
import { DEFAULT_PATH_ENV } from './busybox.js';
import { debianRootfs, type DebianRootfs, type DebianRootfsRequest } from './debian-rootfs.js';
import { presetFor, type DebianPreset } from './debian-presets.js';
import { familiarTagged, parseNamed } from './reference.js';
import { hostArchitecture, sha256 } from './spec.js';
import { packStreamed, packTar } from './tar-write.js';
import type { ImageConfig, ImageSpec } from './types.js';

export const DEFAULT_SUITE = 'bookworm';
export const SOURCE_LABEL = 'io.redes.image.source';

export interface DebianImageRequest extends Omit<DebianRootfsRequest, 'suite'> {
  suite?: string;
  /** `name[:tag]` (`:latest` by default). */
  tag: string;
  /** Default command (exec form); the preset's, else `bash`. */
  cmd?: string[];
  /** Extra exposed ports (`80`, `53/udp`), added to the preset's. */
  expose?: string[];
}

export interface DebianImage {
  /** Familiar `name:tag`. */
  ref: string;
  id: string;
  rootfs: DebianRootfs;
  preset: DebianPreset | undefined;
  spec: ImageSpec;
  /** The image as a `docker save` tar, streamed (the rootfs is read from the cache). */
  archive(): Readable;
}

const PORT = /^([0-9]{1,5})(\/(tcp|udp|sctp))?$/;

/** `80` → `80/tcp`; refuses what Docker's EXPOSE would. */
export function exposedPort(p: string): string {
  const m = PORT.exec(p);
  const n = Number(m?.[1]);
  if (!m || n < 1 || n > 65535) throw invalidParameter('debian.expose_port', `invalid port "${p}": expected PORT[/tcp|udp|sctp]`);
  return `${n}/${m[3] ?? 'tcp'}`;
}

/** The image config: Debian's PATH, the preset's or the caller's command, ports, and where it comes from. */
export function debianSpec(rootfs: DebianRootfs, preset: DebianPreset | undefined, presetDiffId: string | undefined, req: DebianImageRequest, asked: readonly string[]): ImageSpec {
  const ports: Record<string, Record<string, never>> = { ...(preset?.config.ExposedPorts ?? {}) };
  for (const p of req.expose ?? []) ports[exposedPort(p)] = {};
  const what = asked.length ? asked.join(', ') : 'no extra packages';
  const config: ImageConfig = {
    Env: [DEFAULT_PATH_ENV],
    Cmd: req.cmd ?? preset?.config.Cmd ?? ['bash'],
    ...(Object.keys(ports).length ? { ExposedPorts: ports } : {}),
    ...(preset?.config.StopSignal ? { StopSignal: preset.config.StopSignal } : {}),
    Labels: {
      [SOURCE_LABEL]: 'debian-packages',
      'io.redes.image.debian.suite': rootfs.suite,
      'io.redes.image.debian.packages': asked.join(','),
      'org.opencontainers.image.description': `Built by redes from Debian ${rootfs.suite} packages with mmdebstrap: ${what}`,
    },
  };
  const created = rootfs.created;
  return {
    architecture: hostArchitecture(),
    os: 'linux',
    created,
    config,
    history: [
      { created, created_by: `mmdebstrap --variant=apt ${rootfs.suite} (${what})`, comment: 'redes image debian' },
      ...(preset ? [{ created, created_by: preset.createdBy }] : []),
    ],
    rootfs: { type: 'layers', diff_ids: [rootfs.diffId, ...(presetDiffId ? [presetDiffId] : [])] },
  };
}

export async function debianImage(req: DebianImageRequest): Promise<DebianImage> {
  const named = parseNamed(req.tag); // refuse a bad name or port before minutes of building
  if (named.digest) throw invalidParameter('image.reference', `invalid tag "${req.tag}": a digest cannot name a built image`);
  for (const p of req.expose ?? []) exposedPort(p);
  const rootfs = await debianRootfs({ ...req, suite: req.suite ?? DEFAULT_SUITE });
  return debianImageFromRootfs(rootfs, req);
}

/** The image of a built rootfs: the preset's layer and the config; nothing is read until `archive()`. */
export async function debianImageFromRootfs(rootfs: DebianRootfs, req: DebianImageRequest): Promise<DebianImage> {
  const ref = familiarTagged(parseNamed(req.tag));
  const asked = [...req.packages];
  const preset = presetFor(asked);
  const presetLayer = preset ? await packTar(preset.files.map((f) => ({ mtime: new Date(rootfs.created), ...f }))) : undefined;
  const presetDiffId = presetLayer ? sha256(presetLayer) : undefined;
  const spec = debianSpec(rootfs, preset, presetDiffId, req, asked);
  const config = Buffer.from(JSON.stringify(spec));
  return { ref, id: sha256(config), rootfs, preset, spec, archive: () => saveArchive(ref, config, rootfs, presetLayer) };
}

/** A `docker save` archive: config, the rootfs layer (streamed from the cache), the preset layer, manifest. */
function saveArchive(ref: string, config: Buffer, rootfs: DebianRootfs, presetLayer: Buffer | undefined): Readable {
  const pack = tarStream.pack();
  const configName = `${sha256(config).slice(7)}.json`;
  const layers = [`${rootfs.diffId.slice(7)}/layer.tar`, ...(presetLayer ? [`${sha256(presetLayer).slice(7)}/layer.tar`] : [])];
  const add = (name: string, body: Buffer): Promise<void> =>
    new Promise((resolve, reject) => pack.entry({ name, size: body.length, mode: 0o644 }, body, (e) => (e ? reject(e) : resolve())));
  void (async () => {
    await add(configName, config);
    await packStreamed(pack, { name: layers[0] ?? '', size: rootfs.size, mode: 0o644 }, createReadStream(rootfs.tarPath));
    if (presetLayer && layers[1]) await add(layers[1], presetLayer);
    await add('manifest.json', Buffer.from(JSON.stringify([{ Config: configName, RepoTags: [ref], Layers: layers }])));
    pack.finalize();
  })().catch((e: unknown) => pack.destroy(e as Error));
  return Readable.from(pack as AsyncIterable<Buffer>);
}
