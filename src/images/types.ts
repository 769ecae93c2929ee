/**
 * The shapes of the local image store: the image config document (Docker's and OCI's share field
 * names), the image record the store keeps in memory, and what import/load/remove return.
 *
 * Beware: `ImageSpec` is our parsed view of the config JSON. The image id is the sha256 of the
 * config file's exact bytes, which the store keeps on disk untouched; never re-serialise a spec to
 * compute an id.
 */

/** Runtime defaults of an image (the `config` object of the config document; API `ImageConfig`). */
export interface ImageConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Cmd?: string[];
  Entrypoint?: string[];
  Healthcheck?: HealthConfig;
  ArgsEscaped?: boolean;
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  OnBuild?: string[];
  Labels?: Record<string, string>;
  StopSignal?: string;
  Shell?: string[];
}

export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** The image config document (`application/vnd.oci.image.config.v1+json` and Docker's v1 image JSON). */
export interface ImageSpec {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  created?: string;
  author?: string;
  comment?: string;
  docker_version?: string;
  config?: ImageConfig;
  rootfs: { type: string; diff_ids: string[] };
  history?: HistoryEntry[];
}

/** An image in the store. Records are snapshots: the store replaces, never mutates, them. */
export interface Image {
  /** `sha256:<hex>` of the config file bytes. */
  readonly id: string;
  /** Familiar `name:tag` strings, sorted. */
  readonly repoTags: readonly string[];
  readonly spec: ImageSpec;
  /** `spec.config`, never undefined. */
  readonly config: ImageConfig;
  /** Layer diff ids (`sha256:<hex>`), lowest first. */
  readonly layers: readonly string[];
  /** RFC 3339 creation time from the config, or undefined when the config has none. */
  readonly created: string | undefined;
  /** Sum of the layers' content sizes in bytes. */
  readonly size: number;
  /** When a tag last pointed here (RFC 3339), for `Metadata.LastTagTime`. */
  readonly lastTagTime: string | undefined;
}

export interface ImportOptions {
  /** `repo[:tag]` to tag the new image with; untagged when absent. */
  ref?: string;
  /** Dockerfile instructions (`--change`). */
  changes?: string[];
  /** Commit message, kept as `Comment` and in the history. */
  message?: string;
}

export interface LoadedImage {
  id: string;
  /** Tags set by this load (empty: print `Loaded image ID: <id>`). */
  repoTags: string[];
  /** Tags that pointed at another image before this load (Docker prints a "renaming" line). */
  renamed: { ref: string; oldId: string }[];
}

/** One line of `DELETE /images/{name}`'s answer. */
export type DeleteRecord = { Untagged: string } | { Deleted: string };

/** A container that uses an image, as the daemon reports it to `remove`. */
export interface ImageUser {
  containerId: string;
  running: boolean;
}

/** The daemon's answer to "does a container use this image?": a user, true (some container), or no. */
export type InUseCheck = (imageId: string) => ImageUser | boolean | undefined;

export interface RemoveOptions {
  force?: boolean;
  /** Keep the untagged build steps below the image (`docker rmi --no-prune`). */
  noPrune?: boolean;
  inUse?: InUseCheck;
}
