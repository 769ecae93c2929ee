/**
 * A container's files from outside: `docker cp` both ways (stat, archive, extract), `docker diff`,
 * `docker export` and `docker commit`, with Docker's texts and events (archive-path, extract-to-dir,
 * export, commit).
 *
 * Use: `new ContainerFiles(controller, deps)`; the API streams what `archive` and `export` return.
 * Beware: a running container is seen through its init's `/proc/PID/root` (its own mount namespace:
 * volumes, binds and the /etc files in place); a stopped one gets its rootfs mounted under the
 * container's lock for the time of the operation, with its volumes and binds mapped by path, and
 * unmounted after. Changes and commits read the overlay's upper directory, leaving out the mount
 * points runc creates there (the /etc files, volume destinations), which Docker keeps in a hidden
 * init layer. Opaque directories (`trusted.overlay.opaque`) are not detected: a directory removed and
 * made again shows as changed, and a commit keeps the lower layer's files under it.
 */
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { mountRootfs, unmountRootfs, packTree, statScoped, resolveScoped, cleanContainerPath, extractArchive, commitSpec, applyChanges, tagKey } from '../../images/index.js';
import type { ImageConfig, ImageSpec, PathStat, ScopedView, LoadedImage } from '../../images/index.js';
import { conflict, invalidParameter, notFound, logger } from '../../util/index.js';
import type { ContainerRecord } from './container-types.js';
import type { ContainerController } from './container-controller.js';
import { resolveUser } from './process-settings.js';

const log = logger.child({ component: 'container-files' });

export interface ContainerFilesDeps {
  /** Layer directories of an image, lowest first. */
  layers(imageId: string): string[];
  /** A volume's data directory. */
  volumePath(name: string): string;
  /** The parsed config of an image (commit builds on its parent's). */
  imageSpec(imageId: string): ImageSpec;
  /** Store a committed layer and the config made for its diff id; tag it. */
  commit(layer: AsyncIterable<Buffer>, makeConfig: (diffId: string) => Buffer, tags: string[]): Promise<LoadedImage>;
  pause(term: string): Promise<void>;
  unpause(term: string): Promise<void>;
}

/** Docker's ContainerChange: Kind 0 modified, 1 added, 2 deleted. */
export interface ContainerChange {
  Path: string;
  Kind: 0 | 1 | 2;
}

export interface CommitRequest {
  container: string;
  repo?: string;
  tag?: string;
  author?: string;
  comment?: string;
  pause: boolean;
  changes: string[];
  /** The request body (a ContainerConfig): fields set here win over the container's. */
  config: Record<string, unknown>;
}

const ETC_FILES = ['/etc/hosts', '/etc/hostname', '/etc/resolv.conf'];
const RUNTIME_MOUNTS = ['/proc', '/sys', '/dev'];
const IMAGE_CONFIG_FIELDS = ['User', 'ExposedPorts', 'Env', 'Cmd', 'Healthcheck', 'ArgsEscaped', 'Volumes', 'WorkingDir', 'Entrypoint', 'OnBuild', 'Labels', 'StopSignal', 'Shell'] as const;

export class ContainerFiles {
  constructor(
    private readonly ctl: ContainerController,
    private readonly deps: ContainerFilesDeps,
  ) {}

  /** HEAD /containers/{id}/archive. */
  async stat(term: string, path: string): Promise<PathStat> {
    const rec = this.ctl.resolve(term);
    return this.inView(rec, async (view) => (await this.mustStat(view, term, path)).stat);
  }

  /** GET /containers/{id}/archive: the stat now, the tar as it is read. */
  async archive(term: string, path: string): Promise<{ stat: PathStat; content: Readable }> {
    const rec = this.ctl.resolve(term);
    const pack = tarStream.pack();
    const content = new PassThrough();
    let gotStat!: (s: PathStat) => void;
    const statReady = new Promise<PathStat>((resolve) => (gotStat = resolve));
    const work = this.inView(rec, async (view, running) => {
      const { stat, resolved } = await this.mustStat(view, term, path);
      gotStat(stat);
      // A trailing `/.` asks for the content; the CLI rebases names itself, so entries keep the
      // requested base name (a symlink is archived as the link, as Docker does).
      const name = /(^|\/)\.$/.test(path) || resolved === '/' ? '.' : posix.basename(cleanContainerPath(path));
      await packTree(pack, view.host(resolved), name, running ? { shallow: runtimeShallow(resolved) } : {});
      pack.finalize();
    });
    const failed = work.then(
      () => undefined,
      (e: unknown) => e,
    );
    const first = await Promise.race([statReady, failed.then((e) => ({ failed: e }))]);
    if (first && typeof first === 'object' && 'failed' in first) {
      throw first.failed;
    }
    void failed.then((e) => {
      if (e) {
        log.warn({ err: e, id: rec.id, path }, 'archive stream failed');
        const err = e instanceof Error ? e : new Error(String(e));
        pack.destroy(err);
        content.destroy(err);
      }
    });
    this.ctl.emitEvent(rec, 'archive-path');
    pack.pipe(content);
    return { stat: first as PathStat, content };
  }

  /** PUT /containers/{id}/archive: extract a tar into a directory of the container. */
  async extract(term: string, path: string, input: AsyncIterable<Buffer>, opts: { noOverwriteDirNonDir: boolean; copyUIDGID: boolean }): Promise<void> {
    const rec0 = this.ctl.resolve(term);
    await this.inView(rec0, async (view) => {
      const rec = this.ctl.resolve(rec0.id);
      const resolved = await resolveScoped(view, path, true);
      const st = await lstat(view.host(resolved)).catch(() => undefined);
      if (!st) throw notFound('archive.not_found', `Could not find the file ${path} in container ${term}`);
      if (!st.isDirectory()) throw invalidParameter('archive.not_directory', 'extraction point is not a directory');
      const mount = (rec.mounts ?? []).filter((m) => within(resolved, m.destination)).sort((a, b) => b.destination.length - a.destination.length)[0];
      if (mount && !mount.rw) throw invalidParameter('archive.volume_read_only', 'mounted volume is marked read-only');
      if (!mount && rec.hostConfig.ReadonlyRootfs === true) throw invalidParameter('archive.rootfs_read_only', 'container rootfs is marked read-only');
      const chown = opts.copyUIDGID ? await resolveUser(join(rec.dir, 'rootfs'), String(rec.config.User ?? '')) : undefined;
      await extractArchive(input, view.host(resolved), { noOverwriteDirNonDir: opts.noOverwriteDirNonDir, shownAs: resolved, ...(chown ? { chown } : {}) });
    });
    this.ctl.emitEvent(rec0, 'extract-to-dir');
  }

  /** GET /containers/{id}/changes (`docker diff`); null when nothing changed, as Docker answers. */
  async changes(term: string): Promise<ContainerChange[] | null> {
    const rec = this.ctl.resolve(term);
    const upper = join(rec.dir, 'upper');
    const lowers = this.deps.layers(rec.image).reverse();
    const hidden = hiddenPaths(rec);
    const out: ContainerChange[] = [];
    const walk = async (dir: string, at: string): Promise<boolean> => {
      let any = false;
      for (const name of (await readdir(dir).catch(() => [] as string[])).sort()) {
        const path = at === '/' ? `/${name}` : `${at}/${name}`;
        const abs = join(dir, name);
        const st = await lstat(abs).catch(() => undefined);
        if (!st || hidden.has(path)) continue;
        if (st.isCharacterDevice() && st.rdev === 0) {
          out.push({ Path: path, Kind: 2 });
          any = true;
          continue;
        }
        const inLower = await lowerStat(lowers, path);
        const at0 = out.length;
        out.push({ Path: path, Kind: inLower ? 0 : 1 });
        const children = st.isDirectory() ? await walk(abs, path) : false;
        // A directory copied up only because a hidden mount point was made in it is no change.
        if (st.isDirectory() && inLower && !children && inLower.mode === st.mode && inLower.uid === st.uid && inLower.gid === st.gid) {
          out.splice(at0, 1);
          continue;
        }
        any = true;
      }
      return any;
    };
    await walk(upper, '/');
    return out.length ? out.sort((a, b) => (a.Path < b.Path ? -1 : a.Path > b.Path ? 1 : 0)) : null;
  }

  /** GET /containers/{id}/export: the container's root filesystem (no volumes) as a tar. */
  async export(term: string): Promise<Readable> {
    const rec = this.ctl.resolve(term);
    const pack = tarStream.pack();
    const out = new PassThrough();
    const started = new Promise<void>((resolve, reject) => {
      void this.ctl
        .exclusive(rec.id, async (cur) => {
          const mounted = cur.state.status !== 'running';
          const rootfs = await mountRootfs(this.deps.layers(cur.image), cur.dir);
          resolve();
          try {
            const writing = packTree(pack, rootfs, '').then(() => pack.finalize());
            pack.pipe(out);
            await writing;
            await new Promise<void>((r) => (out.writableFinished ? r() : out.once('finish', () => r())));
          } finally {
            if (mounted) await unmountRootfs(cur.dir).catch(() => undefined);
          }
        })
        .catch((e: unknown) => {
          reject(e);
          out.destroy(e instanceof Error ? e : new Error(String(e)));
        });
    });
    await started;
    this.ctl.emitEvent(rec, 'export');
    return out;
  }

  /** POST /commit: a new image from the container's changes; returns its id. */
  async commit(req: CommitRequest): Promise<string> {
    const rec = this.ctl.resolve(req.container);
    const tags = req.repo ? [tagKey(req.repo, req.tag || undefined)] : [];
    const parent = this.deps.imageSpec(rec.image);
    const config = applyChanges(mergeCommitConfig(req.config, rec.config), req.changes);
    const pause = req.pause && rec.state.status === 'running' && !rec.state.paused;
    if (pause) await this.deps.pause(rec.id);
    let loaded: LoadedImage;
    try {
      const pack = tarStream.pack();
      const hidden = hiddenPaths(rec);
      const lowers = this.deps.layers(rec.image).reverse();
      const writing = (async () => {
        const skip = new Set<string>();
        for (const p of hidden) if (!(await lowerStat(lowers, p))) skip.add(p.slice(1));
        await packTree(pack, join(rec.dir, 'upper'), '', { whiteouts: true, skip: (rel) => skip.has(rel) });
        pack.finalize();
      })();
      writing.catch((e: unknown) => pack.destroy(e instanceof Error ? e : new Error(String(e))));
      const createdBy = [...((rec.config.Entrypoint as string[] | null) ?? []), ...((rec.config.Cmd as string[] | null) ?? [])].join(' ');
      loaded = await this.deps.commit(pack as AsyncIterable<Buffer>, (diffId) => Buffer.from(JSON.stringify(commitSpec(parent, diffId, config, { ...(req.author ? { author: req.author } : {}), ...(req.comment ? { comment: req.comment } : {}), createdBy }))), tags);
      await writing;
    } finally {
      if (pause) await this.deps.unpause(rec.id).catch((e: unknown) => log.warn({ err: e, id: rec.id }, 'unpause after commit failed'));
    }
    this.ctl.emitEvent(rec, 'commit', { comment: req.comment ?? '', imageID: loaded.id, imageRef: tags[0] ?? '' });
    return loaded.id;
  }

  private async mustStat(view: ScopedView, term: string, path: string): Promise<{ stat: PathStat; resolved: string }> {
    const found = await statScoped(view, path);
    if (!found) throw notFound('archive.not_found', `Could not find the file ${path} in container ${term}`);
    return found;
  }

  /**
   * Runs `fn` with the container's files: through /proc/PID/root while it runs; otherwise under the
   * container's lock with its rootfs mounted (and unmounted after) and its mounts mapped by path.
   */
  private async inView<T>(rec: ContainerRecord, fn: (view: ScopedView, running: boolean) => Promise<T>): Promise<T> {
    if (rec.state.status === 'running' && rec.state.pid > 0) return fn(procView(rec.state.pid), true);
    return this.ctl.exclusive(rec.id, async (cur) => {
      if (cur.state.status === 'running' && cur.state.pid > 0) return fn(procView(cur.state.pid), true);
      if (cur.state.status === 'removing') throw conflict('container.removing', `container ${cur.id} is being removed`);
      const rootfs = await mountRootfs(this.deps.layers(cur.image), cur.dir);
      try {
        // A volume's directory exists from create on in Docker; ours appears at the first start.
        for (const m of cur.mounts ?? []) if (m.type === 'volume') await mkdir(this.deps.volumePath(m.source), { recursive: true, mode: 0o755 });
        return await fn(this.stoppedView(cur, rootfs), false);
      } finally {
        await unmountRootfs(cur.dir).catch((e: unknown) => log.warn({ err: e, id: cur.id }, 'unmount after a file operation failed'));
      }
    });
  }

  private stoppedView(rec: ContainerRecord, rootfs: string): ScopedView {
    const mounts: Array<{ destination: string; source: string }> = [];
    // The /etc files exist from the first start on; before it, the image's own files show.
    for (const [destination, source] of [['/etc/hosts', rec.hostsPath], ['/etc/hostname', rec.hostnamePath], ['/etc/resolv.conf', rec.resolvConfPath]] as const) {
      if (existsSync(source)) mounts.push({ destination, source });
    }
    for (const m of rec.mounts ?? []) {
      if (m.type === 'bind') mounts.push({ destination: m.destination, source: m.source });
      if (m.type === 'volume') mounts.push({ destination: m.destination, source: m.subpath ? join(this.deps.volumePath(m.source), m.subpath) : this.deps.volumePath(m.source) });
    }
    mounts.sort((a, b) => b.destination.length - a.destination.length);
    return {
      host: (p: string) => {
        const m = mounts.find((x) => within(p, x.destination));
        return m ? join(m.source, p.slice(m.destination.length)) : join(rootfs, p);
      },
    };
  }
}

function procView(pid: number): ScopedView {
  const root = `/proc/${pid}/root`;
  return { host: (p: string) => join(root, p) };
}

/** In a running container, /proc and /sys are the kernel's: archived as directories, never walked. */
function runtimeShallow(resolved: string): (rel: string) => boolean {
  return (rel) => {
    const abs = resolved === '/' ? `/${rel}` : `${resolved}/${rel}`;
    return abs === '/proc' || abs === '/sys';
  };
}

function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

/** Mount points runc creates in the upper directory: never a change of the container's own. */
function hiddenPaths(rec: ContainerRecord): Set<string> {
  return new Set([...ETC_FILES, ...RUNTIME_MOUNTS, ...(rec.mounts ?? []).map((m) => m.destination)]);
}

/** The path's lstat in the image (highest layer first; a whiteout hides what is below). */
async function lowerStat(lowersTopFirst: readonly string[], path: string): Promise<import('node:fs').Stats | undefined> {
  for (const dir of lowersTopFirst) {
    const st = await lstat(join(dir, path)).catch(() => undefined);
    if (!st) continue;
    if (st.isCharacterDevice() && st.rdev === 0) return undefined;
    return st;
  }
  return undefined;
}

/**
 * Docker's commit merge: the request's config, with what it leaves empty taken from the container
 * (Env and Labels merged, Cmd and Entrypoint together, ExposedPorts and Volumes united).
 */
export function mergeCommitConfig(user: Record<string, unknown>, container: Record<string, unknown>): ImageConfig {
  const pick = (o: Record<string, unknown>): ImageConfig => Object.fromEntries(IMAGE_CONFIG_FIELDS.filter((k) => o[k] !== undefined && o[k] !== null).map((k) => [k, o[k]])) as ImageConfig;
  const u = pick(user);
  const c = pick(container);
  const out: ImageConfig = { ...c, ...u };
  if (!u.User) out.User = c.User ?? '';
  const env = new Map<string, string>();
  for (const kv of [...(c.Env ?? []), ...(u.Env ?? [])]) env.set(kv.split('=')[0] ?? kv, kv);
  if (env.size) out.Env = [...env.values()];
  if (c.Labels || u.Labels) out.Labels = { ...c.Labels, ...u.Labels };
  if (c.ExposedPorts || u.ExposedPorts) out.ExposedPorts = { ...c.ExposedPorts, ...u.ExposedPorts };
  if (c.Volumes || u.Volumes) out.Volumes = { ...c.Volumes, ...u.Volumes };
  if (!u.Entrypoint?.length && !u.Cmd?.length) {
    if (c.Entrypoint) out.Entrypoint = c.Entrypoint;
    if (c.Cmd) out.Cmd = c.Cmd;
  }
  return out;
}
