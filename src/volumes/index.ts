/**
 * volumes/: named and anonymous volumes of the local driver (records, data directories, driver
 * option mounts) and Docker's copy-up of image content into a new volume.
 */
export { Volumes, type VolumeRecord, type VolumesDeps } from './volumes.js';
export { copyUp } from './copy-up.js';
