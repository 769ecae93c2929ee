/**
 * Disk use of containers and their removal in bulk: `docker container prune` (stopped containers,
 * filters `until`, `label`, `label!`) and the container half of `docker system df` (SizeRw: bytes
 * in the container's writable layer; SizeRootFs: that plus its image).
 *
 * Use: `new ContainerUsage(controller, { imageSize })`; `prune(filters)`, `sizes(rec)`.
 * Beware: sizes are file bytes (hardlinks counted once), walked at each call like Docker's
 * `size=true`; a container removed while prune runs is skipped, not an error.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Filters, isRedesError, logger, rfc3339ToSeconds } from '../../util/index.js';
import type { ContainerRecord } from './container-types.js';
import type { ContainerController } from './container-controller.js';

const log = logger.child({ component: 'containers' });
const PRUNE_FILTERS = ['until', 'label', 'label!'];

export interface ContainerUsageDeps {
  /** Bytes of an image's layers (0 when it is gone). */
  imageSize(imageId: string): number;
  /** `docker events`: the prune event (container, prune, reclaimed bytes). */
  emit?: (attrs: Record<string, string>) => void;
}

export class ContainerUsage {
  constructor(
    private readonly ctl: ContainerController,
    private readonly deps: ContainerUsageDeps,
  ) {}

  /** `POST /containers/prune`: every container not running (nor paused, nor restarting) that the filters keep. */
  async prune(filters: string | null | undefined): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }> {
    const f = Filters.parse(filters).validate(PRUNE_FILTERS);
    const until = f.until();
    const deleted: string[] = [];
    let space = 0;
    for (const rec of this.ctl.list({ all: true })) {
      if (rec.state.status === 'running' || rec.state.status === 'restarting' || rec.state.status === 'removing') continue;
      if (until !== undefined && rfc3339ToSeconds(rec.created) > until) continue;
      const labels = (rec.config.Labels as Record<string, string> | undefined) ?? {};
      if (!f.matchLabels('label', labels) || (f.has('label!') && f.anyLabel('label!', labels))) continue;
      const size = await bytesUnder(join(rec.dir, 'upper'));
      try {
        await this.ctl.remove(rec.id, { force: false, volumes: false, link: false });
      } catch (e) {
        if (isRedesError(e) && (e.kind === 'not-found' || e.kind === 'conflict')) continue;
        log.warn({ err: e, id: rec.id }, 'prune could not remove a container');
        continue;
      }
      deleted.push(rec.id);
      space += size;
    }
    this.deps.emit?.({ reclaimed: String(space) });
    return { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: space };
  }

  /** `SizeRw` and `SizeRootFs` of a container. */
  async sizes(rec: ContainerRecord): Promise<{ SizeRw: number; SizeRootFs: number }> {
    const rw = await bytesUnder(join(rec.dir, 'upper'));
    return { SizeRw: rw, SizeRootFs: rw + this.deps.imageSize(rec.image) };
  }
}

/** Bytes of regular files under `dir` (hardlinks once); 0 when it does not exist. */
export async function bytesUnder(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) {
        const st = await lstat(p).catch(() => undefined);
        if (!st || seen.has(`${st.dev}:${st.ino}`)) continue;
        seen.add(`${st.dev}:${st.ino}`);
        total += st.size;
      }
    }
  };
  await walk(dir);
  return total;
}
