/** The volume service as the API layer sees it (the volumes layer sits below the engine). */
export type { VolumeRecord, Volumes } from '../../volumes/index.js';
