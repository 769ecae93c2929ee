/**
 * The JSON the Engine API (v1.50) returns for images: `ImageSummary` for `GET /images/json` and
 * `ImageInspect` for `GET /images/{name}/json`. Pure functions of an `Image`.
 *
 * Beware: since API 1.44 an untagged image has empty RepoTags/RepoDigests (not `<none>:<none>`);
 * the CLI prints `<none>` itself. The inspect `Config` carries only the image-config fields, and only
 * those that are set, as Docker 28 prints it.
 */
import type { Image, ImageConfig } from './types.js';

export interface ImageSummaryJson {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
  SharedSize: number;
  Labels: Record<string, string>;
  Containers: number;
}

export interface ImageInspectJson {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created?: string;
  DockerVersion: string;
  Author: string;
  Config: ImageConfig;
  Architecture: string;
  Variant?: string;
  Os: string;
  OsVersion?: string;
  Size: number;
  GraphDriver: { Name: string; Data: Record<string, string> };
  RootFS: { Type: string; Layers: string[] };
  Metadata: { LastTagTime?: string };
}

const CONFIG_FIELDS: (keyof ImageConfig)[] = [
  'User',
  'ExposedPorts',
  'Env',
  'Cmd',
  'Healthcheck',
  'ArgsEscaped',
  'Volumes',
  'WorkingDir',
  'Entrypoint',
  'OnBuild',
  'Labels',
  'StopSignal',
  'Shell',
];

/** `GET /images/json` entry. `containers` is -1 unless the caller counted them. */
export function imageSummary(img: Image, containers = -1): ImageSummaryJson {
  return {
    Id: img.id,
    ParentId: '',
    RepoTags: [...img.repoTags],
    RepoDigests: [],
    Created: img.created ? Math.floor(Date.parse(img.created) / 1000) : 0,
    Size: img.size,
    SharedSize: -1,
    Labels: { ...(img.config.Labels ?? {}) },
    Containers: containers,
  };
}

/** `GET /images/{name}/json`. `layerDirs` (lowest first) fills GraphDriver.Data when given. */
export function imageInspect(img: Image, layerDirs: readonly string[] = []): ImageInspectJson {
  const s = img.spec;
  const out: ImageInspectJson = {
    Id: img.id,
    RepoTags: [...img.repoTags],
    RepoDigests: [],
    Parent: '',
    Comment: s.comment ?? '',
    ...(img.created ? { Created: img.created } : {}), // absent in the config: omitted, as Docker does
    DockerVersion: s.docker_version ?? '',
    Author: s.author ?? '',
    Config: inspectConfig(img.config),
    Architecture: s.architecture,
    Os: s.os,
    Size: img.size,
    GraphDriver: { Name: 'overlayfs', Data: graphData(layerDirs) },
    RootFS: { Type: s.rootfs.type || 'layers', Layers: [...img.layers] },
    Metadata: img.lastTagTime ? { LastTagTime: img.lastTagTime } : {},
  };
  if (s.variant) out.Variant = s.variant;
  if (s['os.version']) out.OsVersion = s['os.version'];
  return out;
}

function inspectConfig(c: ImageConfig): ImageConfig {
  const out: Record<string, unknown> = {};
  for (const k of CONFIG_FIELDS) {
    const v = c[k];
    if (v === undefined || v === '' || v === false) continue;
    if (Array.isArray(v) && v.length === 0 && k !== 'Entrypoint' && k !== 'Cmd') continue;
    if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) continue;
    out[k] = v;
  }
  return out as ImageConfig;
}

/** Docker's overlay2 shape: the top layer as UpperDir, the rest (highest first) as LowerDir. */
function graphData(dirs: readonly string[]): Record<string, string> {
  if (dirs.length === 0) return {};
  const top = dirs[dirs.length - 1] ?? '';
  const lower = dirs.slice(0, -1).reverse();
  return lower.length ? { LowerDir: lower.join(':'), UpperDir: top } : { UpperDir: top };
}
