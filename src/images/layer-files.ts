/**
 * Where a stored layer's files live, and the layer's tar as `docker push` and `docker save` need it.
 *
 *   layers/<hex>/               the layer unpacked (an overlayfs lower directory)
 *   layer-splits/<hex>          its tar split (tar-split.ts): the tar is rebuilt from it and the files
 *   layer-splits/<hex>.shadow/  contents the split needs that no file of the layer holds (rare)
 *   layer-tars/<hex>.tar        the whole tar, as stores before splits kept it (read, never written)
 *
 * Use: `layerPaths(root, diffId)`, `moveStagedLayer(root, staged)`, `removeLayerFiles(root, hex)`,
 * `openLayerTar(root, diffId)`.
 *
 * Beware: the rebuilt tar is only right while the unpacked files are unchanged; layer directories
 * are read-only lower layers, and a file of another length than its entry is an error.
 */
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createReadStream } from 'node:fs';
import { idHex } from './reference.js';
import type { StagedLayer } from './stage.js';
import { openSplit, type SplitTar } from './tar-split.js';

export const LAYER_FOLDERS = ['layers', 'layer-splits', 'layer-tars'];

export function layerPaths(root: string, diffId: string): { dir: string; split: string; shadow: string; tar: string } {
  const hex = idHex(diffId);
  return {
    dir: join(root, 'layers', hex),
    split: join(root, 'layer-splits', hex),
    shadow: join(root, 'layer-splits', `${hex}.shadow`),
    tar: join(root, 'layer-tars', `${hex}.tar`),
  };
}

/** Move a staged layer into place (replacing unindexed leftovers of a crash). */
export async function moveStagedLayer(root: string, l: StagedLayer): Promise<void> {
  const to = layerPaths(root, l.diffId);
  await removeLayerFiles(root, l.diffId);
  await rename(l.dir, to.dir);
  await rename(l.split, to.split);
  if (await stat(l.shadow).catch(() => undefined)) await rename(l.shadow, to.shadow);
}

export async function removeLayerFiles(root: string, diffId: string): Promise<void> {
  const p = layerPaths(root, diffId);
  await rm(p.dir, { recursive: true, force: true });
  await rm(p.split, { force: true });
  await rm(p.shadow, { recursive: true, force: true });
  await rm(p.tar, { force: true });
}

/** The hex names of every layer that has some file on disk. */
export async function layersOnDisk(root: string): Promise<Set<string>> {
  const names = new Set<string>();
  for (const d of LAYER_FOLDERS) for (const f of await readdir(join(root, d)).catch(() => [])) names.add(f.replace(/\.(tar|shadow)$/, ''));
  return names;
}

/** The layer's uncompressed tar (rebuilt from its split, or the whole tar an older store kept); undefined when neither exists. */
export async function openLayerTar(root: string, diffId: string): Promise<SplitTar | undefined> {
  const p = layerPaths(root, diffId);
  if (await stat(p.split).catch(() => undefined)) return openSplit(p.dir, p.split, p.shadow);
  const st = await stat(p.tar).catch(() => undefined);
  if (!st) return undefined;
  return { size: st.size, stream: () => createReadStream(p.tar, { highWaterMark: 1 << 20 }) };
}
