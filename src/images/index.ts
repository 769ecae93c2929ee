/**
 * images/: local images. The image store (`docker import`, `docker load`, tags, removal), the API
 * JSON shapes, the locally built busybox image, overlayfs root filesystems, the image service
 * the /images routes and the container code use (filters, history, prune, pull), and what the
 * builder stores: build steps (`ImageStore.addBuilt`), layer tars of container changes (diff.ts).
 *
 * Use: the daemon opens one service with `openImageService(<data-root>/images)`; other layers import
 * only from this file.
 *
 * Beware: no registry is configured; see service.ts for what a pull means offline.
 */
export { ImageStore } from './store.js';
export { imageSummary, imageInspect, type ImageSummaryJson, type ImageInspectJson } from './api-shapes.js';
export { busyboxImageTar, ensureBusyboxImage, BUSYBOX_REF, DEFAULT_PATH_ENV } from './busybox.js';
export { mountRootfs, unmountRootfs, isMountPoint, OVERLAY_SOURCE } from './rootfs.js';
export { applyChanges, applyInstruction } from './changes.js';
export { upperEntries, packEntries, type FsEntry } from './diff.js';
export { unpackLayer } from './unpack.js';
export { hostArchitecture } from './spec.js';
export type { BuiltStep } from './store.js';
export { splitWords, expandWord } from './shell-words.js';
export { debianImage, exposedPort, DEFAULT_SUITE, SOURCE_LABEL, type DebianImage, type DebianImageRequest } from './debian.js';
export { debianRootfs, DEFAULT_IMAGE_CACHE, type DebianRootfs } from './debian-rootfs.js';
export { presetFor, PRESETS, type DebianPreset } from './debian-presets.js';
export type { Credentials } from './registry/client.js';
export type { JsonMessage, PreparedPull, Progress } from './registry/pull.js';
export { progressBar } from './registry/pull.js';
export { parseNamed, familiarName, familiarTagged, tagKey, shortImageId, type NamedRef } from './reference.js';
export { packTar, type TarEntry } from './tar-write.js';
export { packTree, resolveScoped, statScoped, cleanContainerPath, goFileMode, type PathStat, type ScopedView, type PackTreeOptions } from './tree-tar.js';
export { extractArchive, type ExtractOptions } from './unpack.js';
export { planSave, saveImages, type SaveItem } from './save.js';
export { commitSpec, type CommitOptions } from './spec.js';
export type {
  Image,
  ImageConfig,
  ImageSpec,
  HealthConfig,
  HistoryEntry,
  ImportOptions,
  LoadedImage,
  DeleteRecord,
  ImageUser,
  InUseCheck,
  RemoveOptions,
} from './types.js';
export {
  LocalImageService,
  openImageService,
  familiarMatch,
  type ImageHistoryItem,
  type ImageService,
  type ImageServiceDeps,
  type ImportRequest,
  type LocalPull,
  type PruneReport,
} from './service.js';
