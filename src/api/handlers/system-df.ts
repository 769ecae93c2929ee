/**
 * `GET /system/df` (`docker system df [-v]`): images with their container counts and shared bytes,
 * containers with SizeRw/SizeRootFs, volumes with UsageData, the total size of stored layers. The
 * build cache is empty: build steps here are images, counted with the images.
 *
 * Use: `systemDfRoutes(router, deps)`.
 * Beware: `type=` (API 1.42) limits the answer to the listed kinds; others are left out, as dockerd
 * does. Sizes are walked at each call.
 */
import type { ContainerRecord, ContainerUsage, VolumeRecord, Volumes } from '../../engine/index.js';
import { imageSummary, type Image } from '../../images/index.js';
import { invalidParameter } from '../../util/index.js';
import { sendJson } from '../body.js';
import type { Router } from '../router.js';
import { containerSummaryView, type PortMap } from '../views/container.js';
import { volumeView } from './volumes.js';

export interface SystemDfDeps {
  containers: () => ContainerRecord[];
  usage: ContainerUsage;
  images: () => Image[];
  layerSize: (diffId: string) => number;
  volumes: Volumes;
  volumeUsers: (name: string) => string[];
  portsOf?: (containerId: string) => PortMap | undefined;
}

const TYPES = ['container', 'image', 'volume', 'build-cache'];

export function systemDfRoutes(router: Router, deps: SystemDfDeps): void {
  router.on('GET', '/system/df', async ({ res, query }) => {
    const types = query.getAll('type');
    for (const t of types) if (!TYPES.includes(t)) throw invalidParameter('system.df_type', `unknown object type: ${t}`);
    const want = (t: string): boolean => types.length === 0 || types.includes(t);
    const out: Record<string, unknown> = {};
    const containers = deps.containers();
    if (want('image')) {
      const images = deps.images();
      const uses = new Map<string, number>();
      for (const img of images) for (const l of new Set(img.layers)) uses.set(l, (uses.get(l) ?? 0) + 1);
      let layersSize = 0;
      for (const l of uses.keys()) layersSize += deps.layerSize(l);
      out.LayersSize = layersSize;
      out.Images = images.map((img) => {
        const shared = [...new Set(img.layers)].filter((l) => (uses.get(l) ?? 0) > 1).reduce((n, l) => n + deps.layerSize(l), 0);
        return { ...imageSummary(img, containers.filter((c) => c.image === img.id).length), SharedSize: shared };
      });
    }
    if (want('container')) {
      const now = Date.now();
      out.Containers = await Promise.all(
        containers.map(async (rec) => {
          const ports = deps.portsOf?.(rec.id);
          return { ...containerSummaryView(rec, now, ports ? { ports } : {}), ...(await deps.usage.sizes(rec)) };
        }),
      );
    }
    if (want('volume')) {
      out.Volumes = await Promise.all(
        deps.volumes.list().map(async (v: VolumeRecord) => ({
          ...volumeView(v, deps.volumes.path(v.id)),
          UsageData: { Size: await deps.volumes.size(v.id), RefCount: deps.volumeUsers(v.id).length },
        })),
      );
    }
    if (want('build-cache')) out.BuildCache = [];
    sendJson(res, 200, out);
  });
}
