/**
 * The steps of a container start, in order, and their rollback: the network namespace (its own,
 * plugged into every network; another container's; or the host's), the features' `beforeStart`
 * hooks (ports, DNS, links), the bundle, then the runtime's create and start (attaches made before
 * the start are joined in between). The rootfs mount and the settings that need no endpoint are
 * made alongside the first two steps.
 *
 * Use: `const { pid } = await runStart(rec, ctx)` under the container's lock and network holds; the
 * controller records the outcome (running, or the error) and follows the exit.
 * Beware: on failure everything made so far is undone in reverse order (hooks told `beforeStop`,
 * runtime container deleted, rootfs unmounted, mounts released, endpoints left, namespace deleted)
 * before the error is rethrown; `rec.endpoints` then shows no endpoint plugged in.
 */
import type { ContainerRuntimeOps } from '../../host/index.js';
import type { Volumes } from '../../volumes/index.js';
import { conflict, failpoint, logger, newId, phaseClock } from '../../util/index.js';
import { specHostPaths } from '../../runtime/index.js';
import { prepareRootfs, writeBundle, type BundleContext, type PreparedRootfs } from './container-bundle.js';
import { strList } from './container-config.js';
import { checkHostGateway } from './etc-files.js';
import type { ContainerHooks, EtcContributions } from './container-hooks.js';
import type { ContainerIo } from './container-io.js';
import { releaseMounts } from './container-mounts.js';
import type { ContainerNetworking } from './container-network.js';
import { stateDirOf } from './container-io.js';
import { logLimits } from './log-config.js';
import type { ContainerRecord } from './container-types.js';
import type { NetworkRecord } from '../networks/network-record.js';

const log = logger.child({ component: 'containers' });

/** dockerd's default for `host-gateway`: the default bridge's gateway addresses (IPv4, then IPv6 when it has one). */
export function defaultHostGateway(networks: readonly NetworkRecord[]): string[] {
  const ipam = networks.find((n) => n.predefined && n.name === 'bridge')?.ipam;
  return [ipam?.v4?.gateway, ipam?.v6?.gateway].filter((a): a is string => !!a);
}

export interface StartContext {
  mustGet(id: string): ContainerRecord;
  /** The addresses `host-gateway` stands for in `--add-host` (--host-gateway-ip, else the default bridge's gateways). */
  hostGateway(): string[];
  networking: ContainerNetworking;
  hooks: readonly ContainerHooks[];
  /** Runs a notification hook on every feature (failures logged). */
  notify(what: string, fn: (h: ContainerHooks) => Promise<void> | undefined): Promise<void>;
  runtime: ContainerRuntimeOps;
  io: ContainerIo;
  volumes?: Volumes;
  /** The bundle's inputs for this container. */
  bundle(rec: ContainerRecord): BundleContext;
}

export async function runStart(rec: ContainerRecord, ctx: StartContext): Promise<{ pid: number }> {
  // Phase timings (debug log): where a start spends its time, for the benchmarks' sake.
  const mark = phaseClock(log);
  let pluggedIn = false;
  let hooksStarted = false;
  const logs = logLimits(rec.hostConfig.LogConfig); // a bad --log-opt value fails here, before any kernel step
  checkHostGateway(strList(rec.hostConfig.ExtraHosts, 'ExtraHosts'), ctx.hostGateway()); // so does a host-gateway with no address
  const bundle = ctx.bundle(rec);
  // The rootfs mount and the settings that need no endpoint go on while the network is plumbed.
  let rootfs: Promise<PreparedRootfs> | undefined;
  try {
    rootfs = prepareRootfs(rec, bundle);
    rootfs.catch(() => undefined); // awaited below; a failure meanwhile is not an unhandled rejection
    let netnsPath: string | 'host' = 'host';
    if (rec.networkMode.startsWith('container:')) {
      const other = ctx.mustGet(rec.networkMode.slice('container:'.length));
      if (other.state.status !== 'running') throw conflict('container.join_not_running', `cannot join network namespace of a non running container: ${other.id}`);
      rec.netns = other.netns;
      netnsPath = other.netns ? `/run/netns/${other.netns}` : 'host';
    } else if (rec.netns) {
      await ctx.networking.plugIn(rec, mark);
      pluggedIn = true;
      failpoint('container.start.after-plug');
      netnsPath = `/run/netns/${rec.netns}`;
    } else {
      for (const [name, ep] of Object.entries(rec.endpoints)) rec.endpoints[name] = { ...ep, endpointId: newId() };
    }
    mark('network');
    const etc: EtcContributions = { hostsLines: [], env: [], hostGateway: ctx.hostGateway() };
    hooksStarted = true;
    for (const h of ctx.hooks) await h.beforeStart?.(rec, etc);
    mark('hooks');
    const spec = await writeBundle(rec, etc, netnsPath, bundle, await rootfs);
    mark('bundle');
    const tty = rec.config.Tty === true;
    const { pid } = await ctx.runtime.create({
      id: rec.id, bundleDir: rec.dir, stateDir: stateDirOf(rec), tty, openStdin: rec.config.OpenStdin === true, log: logs, cgroupPath: bundle.cgroupPath,
      hostPaths: specHostPaths(spec),
    });
    await ctx.io.connectPending(rec);
    mark('create');
    failpoint('container.start.after-create');
    await ctx.runtime.start(rec.id);
    mark('start');
    failpoint('container.start.after-start');
    mark.done('start phases (cumulative ms)', rec.id);
    return { pid };
  } catch (e) {
    ctx.io.failPending(rec.id);
    if (hooksStarted) await ctx.notify('beforeStop', (h) => h.beforeStop?.(rec));
    await ctx.runtime.delete(rec.id).catch(() => undefined);
    await rootfs?.catch(() => undefined); // settled before its mounts are undone
    await ctx.runtime.unmountRootfs(rec.dir).catch(() => undefined);
    if (ctx.volumes) await releaseMounts(rec.mounts ?? [], ctx.volumes);
    if (pluggedIn) await ctx.networking.unplug(rec);
    for (const [name, ep] of Object.entries(rec.endpoints)) if (!ep.ifname) rec.endpoints[name] = { ...ep, endpointId: '' };
    throw e;
  }
}
