/**
 * Local images for the container runtime: the image store (`docker import`, `docker load`, tags,
 * removal), the API JSON shapes, the locally built busybox image, and overlayfs root filesystems.
 * The daemon opens one `ImageStore` at `<data-root>/images`.
 */
export { ImageStore } from './store.js';
export { imageSummary, imageInspect, type ImageSummaryJson, type ImageInspectJson } from './api-shapes.js';
export { buildBusyboxRootfs, busyboxImageTar, ensureBusyboxImage, BUSYBOX_REF, DEFAULT_PATH_ENV } from './busybox.js';
export { mountRootfs, unmountRootfs, isMountPoint, OVERLAY_SOURCE } from './rootfs.js';
export { applyChanges } from './changes.js';
export { parseNamed, familiarName, familiarTagged, tagKey, shortImageId, type NamedRef } from './reference.js';
export { packTar, type TarEntry } from './tar-write.js';
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
