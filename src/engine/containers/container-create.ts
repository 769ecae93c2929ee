/**
 * A `docker create` request made into a container record: the name (given, checked, or a random
 * one), the image's defaults merged in, an endpoint per network (Docker's rules on none/host
 * networks and on the default bridge), the container's namespace name, and its mount points.
 *
 * Use: `await newContainerRecord(name, body, ctx)`; the controller runs the features'
 * `validateCreate`, makes the container's directory and stores the record.
 * Beware: nothing here touches the kernel; named volumes a mount asks for are made as needed.
 */
import { mkdir, rm } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import type { Volumes } from '../../volumes/index.js';
import { conflict, failpoint, invalidParameter, newId, nowRfc3339Nano, ownGet, ownSet, ZERO_TIME } from '../../util/index.js';
import type { NetworkRecord } from '../networks/network-record.js';
import { mergeImageConfig, parseCreateBody } from './container-config.js';
import { checkBindSources, planMounts, type MountPoint } from './container-mounts.js';
import type { ContainerNetworking } from './container-network.js';
import type { ContainerRecord, EndpointRecord } from './container-types.js';
import { DEFAULT_LOG_CONFIG, mergeLogConfig, type LogConfig } from './log-config.js';
import { CONTAINER_NAME, randomName } from './names.js';

export interface ImageLookup {
  resolve(ref: string): { id: string; config: { Cmd?: string[]; Entrypoint?: string[]; Env?: string[]; WorkingDir?: string; User?: string; ExposedPorts?: Record<string, unknown>; Labels?: Record<string, string>; StopSignal?: string; Volumes?: Record<string, unknown> | null; Healthcheck?: object } };
  rootfsLayers(imageId: string): string[];
}

export interface CreateContext {
  findByName(name: string): ContainerRecord | undefined;
  resolve(term: string): ContainerRecord;
  networks: { resolve(term: string): NetworkRecord };
  networking: Pick<ContainerNetworking, 'checkEndpointRequest' | 'blankEndpoint'>;
  images: ImageLookup;
  /** Instance prefix of kernel object names: the namespace is `<prefix>-c-<12 hex>`. */
  prefix: string;
  dataRoot: string;
  volumes?: Volumes;
  /** The daemon's --log-driver and --log-opt, merged into the container's LogConfig. */
  logDefaults: LogConfig | undefined;
}

type Parsed = ReturnType<typeof parseCreateBody>;

export async function newContainerRecord(name: string | undefined, body: unknown, ctx: CreateContext): Promise<ContainerRecord> {
  const p = parseCreateBody(body);
  if (name !== undefined && name !== '') {
    if (!CONTAINER_NAME.test(name)) throw invalidParameter('container.name', `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    name = name.replace(/^\//, '');
    const other = ctx.findByName(name);
    if (other) {
      throw conflict('container.name_in_use', `Conflict. The container name "/${name}" is already in use by container "${other.id}". You have to remove (or rename) that container to be able to reuse that name.`);
    }
  } else name = randomName((n) => !!ctx.findByName(n));
  const image = ctx.images.resolve(p.image);
  const id = newId();
  const { networkMode, endpoints, ownNetns } = planEndpoints(p, ctx);
  const netns = ownNetns ? `${ctx.prefix}-c-${id.slice(0, 12)}` : '';
  const { config, argv } = mergeImageConfig(p, image.config, { id, hostHostname: networkMode === 'host' ? osHostname() : undefined });
  const dir = join(ctx.dataRoot, 'containers', id);
  const mounts = await mountsOf(p, image.config.Volumes, ctx);
  return {
    id, name, created: nowRfc3339Nano(), image: image.id, imageRef: p.image, path: argv[0] as string, args: argv.slice(1),
    config, hostConfig: { ...p.hostConfig, LogConfig: mergeLogConfig(p.hostConfig.LogConfig, ctx.logDefaults ?? DEFAULT_LOG_CONFIG) }, networkMode, endpoints,
    state: { status: 'created', pid: 0, exitCode: 0, error: '', startedAt: ZERO_TIME, finishedAt: ZERO_TIME, oomKilled: false },
    restartCount: 0, netns,
    hostnamePath: join(dir, 'hostname'), hostsPath: join(dir, 'hosts'), resolvConfPath: join(dir, 'resolv.conf'),
    logPath: join(dir, 'state', 'log'), dir, mounts,
  };
}

/** The endpoints of a new container, and whether it gets a namespace of its own (not host, not another container's). */
function planEndpoints(p: Parsed, ctx: CreateContext): { networkMode: string; endpoints: Record<string, EndpointRecord>; ownNetns: boolean } {
  const endpoints: Record<string, EndpointRecord> = {};
  if (p.networkMode.startsWith('container:')) {
    const other = ctx.resolve(p.networkMode.slice('container:'.length));
    return { networkMode: `container:${other.id}`, endpoints, ownNetns: false };
  }
  const names = [p.networkMode, ...Object.keys(p.endpointsConfig).filter((k) => k !== p.networkMode)];
  const nets = names.map((n) => ctx.networks.resolve(n));
  if (nets.length > 1 && nets.some((n) => n.driverOptions.attach === 'none')) {
    throw invalidParameter('container.none_multi', 'container cannot be connected to multiple networks with one of the networks in private (none) mode');
  }
  if (nets.length > 1 && nets.some((n) => n.driverOptions.attach === 'host')) {
    throw invalidParameter('container.host_multi', 'container cannot be connected to multiple networks with one of the networks in host mode');
  }
  nets.forEach((net, i) => {
    const req = ownGet(p.endpointsConfig, names[i] as string) ?? ownGet(p.endpointsConfig, net.name) ?? { aliases: [], links: [] };
    ctx.networking.checkEndpointRequest(net, req, 'create');
    ownSet(endpoints, net.name, ctx.networking.blankEndpoint(net, req));
  });
  return { networkMode: p.networkMode, endpoints, ownNetns: nets[0]?.driverOptions.attach !== 'host' };
}

/** Mount points of a new container (Docker's texts for bad specs); volumes made as needed. */
async function mountsOf(p: Parsed, imageVolumes: Record<string, unknown> | null | undefined, ctx: CreateContext): Promise<MountPoint[]> {
  const hc = p.hostConfig;
  const wants = [hc.Binds, hc.Mounts, hc.Tmpfs, hc.VolumesFrom, p.config.Volumes, imageVolumes].some((v) => v && Object.keys(v).length);
  if (!wants) return [];
  if (!ctx.volumes) throw invalidParameter('container.volumes', 'mounts are not supported by this engine instance');
  await checkBindSources(hc);
  return planMounts(p.config, hc, { volumes: ctx.volumes, mountsOf: (t) => ctx.resolve(t).mounts ?? [], imageVolumes: Object.keys(imageVolumes ?? {}) });
}

/**
 * Makes the container's directory, then `record()`s it; when either fails (a full disk: ENOSPC,
 * SQLITE_FULL) the directory goes again, so no directory is left that no container owns.
 */
export async function withContainerDir(dir: string, record: () => void): Promise<void> {
  try {
    await mkdir(join(dir, 'state'), { recursive: true, mode: 0o700 });
    failpoint('container.create.after-dir');
    record();
  } catch (e) {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
}
