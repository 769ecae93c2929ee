/**
 * The OCI bundle of a container start: its /etc files (hosts, hostname, resolv.conf, with what the
 * features contributed), the rootfs mounted from the image's layers, and config.json built from the
 * record (process, user, mounts, limits, namespace).
 *
 * Use: `const prepared = prepareRootfs(rec, ctx)` when the start begins (it needs no endpoint), then
 * `await writeBundle(rec, etc, netnsPath, ctx, await prepared)` after the endpoints joined and the
 * hooks ran, just before the runtime creates the container.
 * Beware: the rootfs stays mounted when a later step fails: the caller's rollback unmounts it (once
 * prepareRootfs has settled).
 */
import { writeFile } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import type { ContainerRuntimeOps } from '../../host/index.js';
import { buildOciSpec, type HostLimits, type OciMount, type OciSpec } from '../../runtime/index.js';
import type { Volumes } from '../../volumes/index.js';
import { strList } from './container-config.js';
import type { EtcContributions } from './container-hooks.js';
import { ociMounts } from './container-mounts.js';
import type { ContainerRecord } from './container-types.js';
import { writeEtcFiles } from './etc-files.js';
import { specSettings } from './host-config-spec.js';
import { consoleSize, resolveUser } from './process-settings.js';

export interface BundleContext {
  /** The image's layers, lowest first. */
  layers: string[];
  runtime: ContainerRuntimeOps;
  volumes?: Volumes;
  /** The engine host's resolv.conf, which the container's derives from. */
  resolvConfPath: string;
  /** The daemon's capability bounding set and open-files limit. */
  hostLimits: HostLimits;
  cgroupPath: string;
}

/** What the bundle takes from the image and the host config alone: made while the network is plumbed. */
export interface PreparedRootfs {
  rootfs: string;
  volumeMounts: OciMount[];
  settings: Awaited<ReturnType<typeof specSettings>>;
  user: Awaited<ReturnType<typeof resolveUser>>;
}

/**
 * Mounts the rootfs and works out what needs no endpoint (volume mounts, host-config settings, the
 * user): the start runs it beside the network plumbing and hooks, which it does not depend on.
 */
export async function prepareRootfs(rec: ContainerRecord, ctx: BundleContext): Promise<PreparedRootfs> {
  const rootfs = await ctx.runtime.mountRootfs(ctx.layers, rec.dir);
  const volumeMounts = ctx.volumes ? await ociMounts(rec.mounts ?? [], rootfs, ctx.volumes) : [];
  const settings = await specSettings(rec, rootfs, [rec.path, ...rec.args]);
  const user = await resolveUser(rootfs, String(rec.config.User ?? ''));
  return { rootfs, volumeMounts, settings, user };
}

/** Writes /etc files and config.json into the container's directory (the rootfs prepared); returns the spec written. */
export async function writeBundle(rec: ContainerRecord, etc: EtcContributions, netnsPath: string | 'host', ctx: BundleContext, prepared: PreparedRootfs): Promise<OciSpec> {
  const cfg = rec.config;
  const tty = cfg.Tty === true;
  await writeEtcFiles(rec, etc, ctx.resolvConfPath);
  const { rootfs, volumeMounts, user } = prepared;
  const { args, additionalGids, ...settings } = prepared.settings;
  const spec = buildOciSpec({
    ...settings,
    mounts: [...(settings.mounts ?? []), ...volumeMounts],
    rootfs,
    args,
    env: [...(cfg.Env as string[]), ...etc.env, `HOSTNAME=${String(cfg.Hostname)}`, ...(tty ? ['TERM=xterm'] : [])],
    cwd: (cfg.WorkingDir as string) || '/',
    user: additionalGids.length ? { ...user, additionalGids } : user,
    tty,
    ...consoleSize(rec.hostConfig.ConsoleSize),
    hostname: rec.networkMode === 'host' ? osHostname() : String(cfg.Hostname),
    network: netnsPath === 'host' ? 'host' : { netnsPath },
    etcFiles: { hosts: rec.hostsPath, hostname: rec.hostnamePath, resolvConf: rec.resolvConfPath },
    cgroupsPath: ctx.cgroupPath,
    capAdd: strList(rec.hostConfig.CapAdd, 'CapAdd'),
    capDrop: strList(rec.hostConfig.CapDrop, 'CapDrop'),
    privileged: rec.hostConfig.Privileged === true,
    host: ctx.hostLimits,
  });
  await writeFile(join(rec.dir, 'config.json'), JSON.stringify(spec));
  return spec;
}
