/**
 * A container's mounts as Docker builds them at create: `-v` binds and volumes (HostConfig.Binds),
 * `--mount` (HostConfig.Mounts: bind, volume, tmpfs), `--tmpfs` (HostConfig.Tmpfs), `--volumes-from`,
 * anonymous volumes (Config.Volumes and the image's VOLUME). The result, a list of mount points, is
 * stored with the container; at start it becomes runc mounts (volumes attached, copy-up done).
 *
 * Use: `planMounts(req, ctx)` at create (throws Docker's texts), `ociMounts(points, rootfs, volumes)`
 * at start, `releaseMounts(points, volumes)` after exit, `mountsView(points)` for inspect.
 * Beware: anonymous volumes are created at create time (random 64-hex names), as dockerd does; a
 * later mount on the same destination replaces an earlier one (Binds over image VOLUMEs).
 */
import { mkdir, stat } from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import type { OciMount } from '../../runtime/index.js';
import { invalidParameter, logger } from '../../util/index.js';
import { copyUp, type Volumes } from '../../volumes/index.js';

export interface MountPoint {
  type: 'bind' | 'volume' | 'tmpfs';
  /** Host path of a bind; the volume's name for a volume; '' for tmpfs. */
  source: string;
  destination: string;
  rw: boolean;
  /** The mode string Docker shows (`ro`, `z`, ...), '' when none. */
  mode: string;
  propagation: string;
  /** Volumes: copy the image's content into an empty volume (not for `nocopy`). */
  copyData: boolean;
  /** tmpfs mount options (size=, mode=, ...). */
  tmpfsOptions?: string[];
  /** Bind: plain `bind` instead of `rbind` (BindOptions.NonRecursive). */
  nonRecursive?: boolean;
  /** Volume: a sub-directory of the volume (VolumeOptions.Subpath). */
  subpath?: string;
  /** Came from `--tmpfs` (shown in HostConfig.Tmpfs, not in Mounts, as Docker). */
  fromTmpfsFlag?: boolean;
  /** Volume: its data directory on the host (inspect's Source). */
  hostPath?: string;
}

export interface PlanContext {
  volumes: Volumes;
  /** Mount points of another container (`--volumes-from`), by name or id. */
  mountsOf: (term: string) => MountPoint[];
  /** The image's VOLUME destinations. */
  imageVolumes: string[];
}

type Obj = Record<string, unknown>;
const PROPAGATIONS = ['rprivate', 'private', 'rshared', 'shared', 'rslave', 'slave'];
const BIND_MODES = ['ro', 'rw', 'z', 'Z', 'nocopy', 'consistent', 'delegated', 'cached', ...PROPAGATIONS];

function cleanDestination(dst: string, spec: string): string {
  if (!isAbsolute(dst)) throw invalidParameter('mount.destination', `invalid volume specification: '${spec}': invalid mount config for type "volume": invalid mount path: '${dst}' mount path must be absolute`);
  const n = normalize(dst);
  if (n === '/') throw invalidParameter('mount.destination', `invalid volume specification: '${spec}': invalid mount config for type "bind": invalid specification: destination can't be '/'`);
  return n.length > 1 ? n.replace(/\/$/, '') : n;
}

/** One `-v SRC:DST[:MODE]` entry, or `-v DST` alone: an anonymous volume (docker-py's `volumes=['/x']`). */
export function parseBind(spec: string): MountPoint {
  const parts = spec.split(':');
  if (parts.length === 1 && spec) return { type: 'volume', source: '', destination: cleanDestination(spec, spec), rw: true, mode: '', propagation: '', copyData: true };
  // A destination and a mode without a source (`/data:ro`) is no volume at all, as for dockerd.
  if (parts.length === 2 && BIND_MODES.includes(parts[1] ?? '')) throw invalidParameter('mount.spec', `invalid volume specification: '${spec}'`);
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1]) throw invalidParameter('mount.spec', `invalid volume specification: '${spec}'`);
  const [src = '', dstRaw = '', modeRaw = ''] = parts;
  const modes = modeRaw ? modeRaw.split(',') : [];
  for (const m of modes) if (!BIND_MODES.includes(m)) throw invalidParameter('mount.mode', `invalid mode: ${modeRaw}`);
  const destination = cleanDestination(dstRaw, spec);
  const bind = isAbsolute(src);
  if (bind && modes.includes('nocopy')) throw invalidParameter('mount.mode', `invalid mode: ${modeRaw}`);
  if (!bind && modes.some((m) => PROPAGATIONS.includes(m))) throw invalidParameter('mount.mode', `invalid mode: ${modeRaw}`);
  const propagation = modes.find((m) => PROPAGATIONS.includes(m)) ?? (bind ? 'rprivate' : '');
  return {
    type: bind ? 'bind' : 'volume',
    source: bind ? normalize(src) : src,
    destination,
    rw: !modes.includes('ro'),
    mode: bind ? modeRaw : modeRaw || 'z',
    propagation,
    copyData: !bind && !modes.includes('nocopy'),
  };
}

const onlyKeys = (o: Obj, allowed: readonly string[], where: string): void => {
  for (const [k, v] of Object.entries(o)) {
    if (allowed.includes(k) || v === undefined || v === null || v === false || v === '' || v === 0) continue;
    throw invalidParameter('container.unsupported_field', `HostConfig.Mounts ${where}.${k} is not supported by this engine`);
  }
};

/** One `--mount` (API Mount object). */
export function parseMount(m: Obj): MountPoint {
  onlyKeys(m, ['Type', 'Source', 'Target', 'ReadOnly', 'Consistency', 'BindOptions', 'VolumeOptions', 'TmpfsOptions'], 'Mount');
  const type = String(m.Type ?? '');
  const target = typeof m.Target === 'string' ? m.Target : '';
  const source = typeof m.Source === 'string' ? m.Source : '';
  const err = (msg: string): Error => invalidParameter('mount.invalid', `invalid mount config for type "${type}": ${msg}`);
  if (!target) throw err('field Target must not be empty');
  if (!isAbsolute(target)) throw err(`invalid mount path: '${target}' mount path must be absolute`);
  const destination = normalize(target).replace(/(.)\/$/, '$1');
  const ro = m.ReadOnly === true;
  const bo = (m.BindOptions ?? {}) as Obj;
  const vo = (m.VolumeOptions ?? {}) as Obj;
  const to = (m.TmpfsOptions ?? {}) as Obj;
  if (type === 'bind') {
    if (m.VolumeOptions) throw err('field VolumeOptions must not be specified');
    if (m.TmpfsOptions) throw err('field TmpfsOptions must not be specified');
    if (!source) throw err('field Source must not be empty');
    if (!isAbsolute(source)) throw err(`invalid mount path: '${source}' mount path must be absolute`);
    onlyKeys(bo, ['Propagation', 'NonRecursive', 'CreateMountpoint'], 'BindOptions');
    const propagation = typeof bo.Propagation === 'string' && bo.Propagation ? bo.Propagation : 'rprivate';
    if (!PROPAGATIONS.includes(propagation)) throw err(`invalid propagation mode: ${propagation}`);
    return { type, source: normalize(source), destination, rw: !ro, mode: '', propagation, copyData: false, ...(bo.NonRecursive === true ? { nonRecursive: true } : {}) };
  }
  if (type === 'volume') {
    if (m.BindOptions) throw err('field BindOptions must not be specified');
    if (m.TmpfsOptions) throw err('field TmpfsOptions must not be specified');
    onlyKeys(vo, ['NoCopy', 'Labels', 'DriverConfig', 'Subpath'], 'VolumeOptions');
    const dc = (vo.DriverConfig ?? {}) as { Name?: unknown; Options?: unknown };
    if (dc.Name && dc.Name !== 'local') throw err(`volume driver ${String(dc.Name)} is not supported`);
    const subpath = typeof vo.Subpath === 'string' && vo.Subpath ? normalize(vo.Subpath) : undefined;
    if (subpath && (isAbsolute(subpath) || subpath.startsWith('..'))) throw err('subpath must be a relative path within the volume');
    return { type, source, destination, rw: !ro, mode: '', propagation: '', copyData: vo.NoCopy !== true && !subpath, ...(subpath ? { subpath } : {}) };
  }
  if (type === 'tmpfs') {
    if (source) throw err('field Source must not be specified');
    if (m.BindOptions || m.VolumeOptions) throw err('field BindOptions/VolumeOptions must not be specified');
    onlyKeys(to, ['SizeBytes', 'Mode', 'Options'], 'TmpfsOptions');
    const opts: string[] = [];
    if (typeof to.SizeBytes === 'number' && to.SizeBytes > 0) opts.push(`size=${to.SizeBytes}`);
    if (typeof to.Mode === 'number' && to.Mode > 0) opts.push(`mode=${to.Mode.toString(8)}`);
    if (Array.isArray(to.Options)) for (const o of to.Options as unknown[]) if (Array.isArray(o)) opts.push(o.length > 1 ? `${String(o[0])}=${String(o[1])}` : String(o[0]));
    return { type, source: '', destination, rw: !ro, mode: '', propagation: '', copyData: false, tmpfsOptions: opts };
  }
  throw invalidParameter('mount.type', `invalid mount config for type "${type}": mount type unknown`);
}

/**
 * Every mount of a new container, in Docker's precedence: image VOLUMEs and Config.Volumes
 * (anonymous), then --volumes-from, then Binds, Mounts and Tmpfs. Volumes named by the request are
 * created when missing; anonymous ones get a fresh name.
 */
export function planMounts(config: Obj, hostConfig: Obj, ctx: PlanContext): MountPoint[] {
  const byDest = new Map<string, MountPoint>();
  const explicit = new Set<string>();
  const add = (p: MountPoint, isExplicit: boolean): void => {
    if (isExplicit && explicit.has(p.destination)) throw invalidParameter('mount.duplicate', `Duplicate mount point: ${p.destination}`);
    if (isExplicit) explicit.add(p.destination);
    byDest.set(p.destination, p);
  };
  const anonymous = [...ctx.imageVolumes, ...Object.keys((config.Volumes as Obj | null) ?? {})];
  for (const d of anonymous) {
    const destination = cleanDestination(d, d);
    add({ type: 'volume', source: '', destination, rw: true, mode: '', propagation: '', copyData: true }, false);
  }
  for (const spec of (hostConfig.VolumesFrom as string[] | null) ?? []) {
    const [term = '', mode = ''] = spec.split(':');
    if (mode && mode !== 'ro' && mode !== 'rw') throw invalidParameter('mount.volumes_from', `invalid mode for volumes-from: ${mode}`);
    for (const p of ctx.mountsOf(term)) {
      if (p.fromTmpfsFlag || p.type === 'tmpfs') continue;
      add({ ...p, rw: mode ? mode === 'rw' : p.rw, mode: mode || p.mode }, false);
    }
  }
  for (const spec of (hostConfig.Binds as string[] | null) ?? []) add(parseBind(spec), true);
  for (const m of (hostConfig.Mounts as Obj[] | null) ?? []) add(parseMount(m), true);
  for (const [dst, opts] of Object.entries((hostConfig.Tmpfs as Record<string, string> | null) ?? {})) {
    const destination = cleanDestination(dst, dst);
    const list = opts ? opts.split(',') : [];
    add({ type: 'tmpfs', source: '', destination, rw: !list.includes('ro'), mode: '', propagation: '', copyData: false, tmpfsOptions: list.filter((o) => o !== 'ro' && o !== 'rw'), fromTmpfsFlag: true }, true);
  }
  const out = [...byDest.values()];
  for (const p of out) {
    if (p.type !== 'volume') continue;
    if (!p.source) p.source = ctx.volumes.create({}, true).id;
    else if (!ctx.volumes.find(p.source)) ctx.volumes.create({ Name: p.source });
    p.hostPath = ctx.volumes.path(p.source);
  }
  return out;
}

/** At start: runc mounts for the mount points, volumes attached and filled from the image. */
export async function ociMounts(points: readonly MountPoint[], rootfs: string, volumes: Volumes): Promise<OciMount[]> {
  const out: OciMount[] = [];
  for (const p of points) {
    const rw = p.rw ? 'rw' : 'ro';
    if (p.type === 'tmpfs') {
      out.push({ destination: p.destination, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', rw, ...(p.tmpfsOptions ?? [])] });
      continue;
    }
    let source = p.source;
    if (p.type === 'volume') {
      source = await volumes.attach(p.source);
      if (p.subpath) {
        source = join(source, p.subpath);
        const st = await stat(source).catch(() => undefined);
        if (!st) throw invalidParameter('mount.subpath', `cannot access path ${source}: no such file or directory`);
      } else if (p.copyData) {
        await copyUp(join(rootfs, p.destination), source);
      }
    } else {
      const st = await stat(source).catch(() => undefined);
      // -v creates a missing host directory (as Docker); --mount refuses it at create already.
      if (!st) await mkdir(source, { recursive: true });
    }
    out.push({ destination: p.destination, type: 'bind', source, options: [p.nonRecursive ? 'bind' : 'rbind', p.propagation || 'rprivate', rw] });
  }
  return out;
}

/** After the container stopped: driver-option mounts of volumes nobody runs with any more go. */
export async function releaseMounts(points: readonly MountPoint[], volumes: Volumes): Promise<void> {
  for (const p of points) if (p.type === 'volume') await volumes.detach(p.source).catch(() => undefined);
}

/** `Mounts` of container inspect (Docker's MountPoint shape). */
export function mountsView(points: readonly MountPoint[] | undefined): Array<Record<string, unknown>> {
  return (points ?? [])
    .filter((p) => !p.fromTmpfsFlag)
    .map((p) => {
      if (p.type === 'volume') {
        return { Type: 'volume', Name: p.source, Source: p.hostPath ?? '', Destination: p.destination, Driver: 'local', Mode: p.mode, RW: p.rw, Propagation: '' };
      }
      return { Type: p.type, Source: p.source, Destination: p.destination, Mode: p.mode, RW: p.rw, Propagation: p.propagation };
    });
}

/** --mount type=bind refuses a missing source at create (Docker's text); -v does not. */
export async function checkBindSources(hostConfig: Obj): Promise<void> {
  for (const m of (hostConfig.Mounts as Obj[] | null) ?? []) {
    if (m.Type !== 'bind' || typeof m.Source !== 'string') continue;
    const create = ((m.BindOptions ?? {}) as Obj).CreateMountpoint === true;
    if (!(await stat(m.Source).catch(() => undefined))) {
      if (create) await mkdir(m.Source, { recursive: true });
      else throw invalidParameter('mount.bind_source', `invalid mount config for type "bind": bind source path does not exist: ${m.Source}`);
    }
  }
}

/** `docker rm -v` and `--rm`: the container's anonymous volumes go with it (named ones stay); failures are logged. */
export async function removeAnonymousVolumes(points: readonly MountPoint[], volumes: Volumes): Promise<void> {
  for (const m of points) {
    if (m.type !== 'volume' || !volumes.find(m.source)?.anonymous) continue;
    await volumes.remove(m.source).catch((e: unknown) => logger.child({ component: 'containers' }).warn({ err: e, volume: m.source }, 'removing an anonymous volume failed'));
  }
}
