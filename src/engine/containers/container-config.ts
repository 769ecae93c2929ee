/**
 * Parsing and checking `POST /containers/create` bodies: Docker's Config + HostConfig +
 * NetworkingConfig, defaults filled in, Docker's errors for conflicting options. Pure.
 */
import { invalidParameter, ownGet, ownSet } from '../../util/index.js';
import { checkCreateFields, checkEndpointFields } from './create-fields.js';
import { checkHostResources } from './host-config-spec.js';
import { checkRestartPolicy } from './restart-policy.js';
import { checkCreateTypes, checkEndpointTypes } from './create-types.js';
import { mergeEnv } from './process-settings.js';

export interface ParsedCreate {
  image: string;
  config: Record<string, unknown>;
  hostConfig: Record<string, unknown>;
  networkMode: string;
  /** Endpoint settings asked for, by network name/id as given. */
  endpointsConfig: Record<string, EndpointRequest>;
}

export interface EndpointRequest {
  ipv4Address?: string;
  ipv6Address?: string;
  aliases: string[];
  links: string[];
  macAddress?: string;
  /** IPAMConfig.LinkLocalIPs as given. */
  linkLocalIps?: string[];
  /** EndpointSettings.DriverOpts (create-fields.ts says which keys are accepted). */
  driverOpts?: Record<string, string>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

export function strList(v: unknown, field: string): string[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    throw invalidParameter('api.field_type', `invalid JSON: field ${field} must be a list of strings`);
  }
  return v as string[];
}

export function parseEndpointRequest(v: unknown, network = ''): EndpointRequest {
  checkEndpointTypes(v, 'EndpointConfig');
  checkEndpointFields(v, network);
  const o = isObj(v) ? v : {};
  const ipam = isObj(o.IPAMConfig) ? o.IPAMConfig : {};
  const r: EndpointRequest = { aliases: strList(o.Aliases, 'Aliases'), links: strList(o.Links, 'Links') };
  if (typeof ipam.IPv4Address === 'string' && ipam.IPv4Address) r.ipv4Address = ipam.IPv4Address;
  if (typeof ipam.IPv6Address === 'string' && ipam.IPv6Address) r.ipv6Address = ipam.IPv6Address;
  if (isObj(o.DriverOpts) && Object.keys(o.DriverOpts).length) r.driverOpts = { ...(o.DriverOpts as Record<string, string>) };
  if (typeof o.MacAddress === 'string' && o.MacAddress) r.macAddress = o.MacAddress.toLowerCase();
  const ll = strList(ipam.LinkLocalIPs, 'LinkLocalIPs');
  if (ll.length) r.linkLocalIps = ll;
  if (r.macAddress && !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(r.macAddress)) {
    throw invalidParameter('container.mac', `invalid MAC address: ${r.macAddress}`);
  }
  return r;
}

export function parseCreateBody(body: unknown): ParsedCreate {
  if (!isObj(body)) throw invalidParameter('api.empty_body', 'config cannot be empty in order to create a container');
  checkCreateTypes(body);
  checkCreateFields(body);
  if (isObj(body.HostConfig)) {
    checkHostResources(body.HostConfig);
    checkRestartPolicy(body.HostConfig);
  }
  const { HostConfig, NetworkingConfig, ...rest } = body;
  const config: Obj = { ...rest };
  const image = typeof config.Image === 'string' ? config.Image : '';
  if (!image) throw invalidParameter('container.no_image', 'No image specified: Config.Image is required');
  const hostConfig: Obj = isObj(HostConfig) ? { ...HostConfig } : {};
  let networkMode = typeof hostConfig.NetworkMode === 'string' && hostConfig.NetworkMode ? hostConfig.NetworkMode : 'bridge';
  if (networkMode === 'default') networkMode = 'bridge';
  hostConfig.NetworkMode = networkMode;
  const nc = isObj(NetworkingConfig) ? NetworkingConfig : {};
  const eps = isObj(nc.EndpointsConfig) ? nc.EndpointsConfig : {};
  const endpointsConfig: Record<string, EndpointRequest> = {};
  for (const [name, v] of Object.entries(eps)) ownSet(endpointsConfig, name === 'default' ? 'bridge' : name, parseEndpointRequest(v, name));
  // API < 1.44 put the MAC in Config; newer CLIs put it in the endpoint.
  if (typeof config.MacAddress === 'string' && config.MacAddress) {
    let first = ownGet(endpointsConfig, networkMode);
    if (!first) ownSet(endpointsConfig, networkMode, (first = { aliases: [], links: [] }));
    first.macAddress ??= config.MacAddress.toLowerCase();
  }
  const links = strList(hostConfig.Links, 'HostConfig.Links');
  if (networkMode.startsWith('container:')) {
    const conflicts: Array<[boolean, string]> = [
      [!!config.Hostname, 'conflicting options: hostname and the network mode'],
      [strList(hostConfig.Dns, 'Dns').length > 0, 'conflicting options: dns and the network mode'],
      [strList(hostConfig.ExtraHosts, 'ExtraHosts').length > 0, 'conflicting options: custom host-to-IP mapping and the network mode'],
      [isObj(hostConfig.PortBindings) && Object.keys(hostConfig.PortBindings).length > 0, 'conflicting options: port publishing and the container type network mode'],
      [hostConfig.PublishAllPorts === true, 'conflicting options: port publishing and the container type network mode'],
      [!!config.MacAddress, 'conflicting options: mac-address and the network mode'],
      [links.length > 0, 'conflicting options: container type network can\'t be used with links. This would result in undefined behavior'],
    ];
    for (const [bad, msg] of conflicts) if (bad) throw invalidParameter('container.conflicting_options', msg);
  }
  if (networkMode === 'host' && (isObj(hostConfig.PortBindings) && Object.keys(hostConfig.PortBindings).length > 0)) {
    // Docker accepts and ignores published ports in host mode, with a warning.
  }
  return { image, config, hostConfig, networkMode, endpointsConfig };
}

/** What an image's config may give a container (Docker's image config fields used at create). */
export interface ImageDefaults {
  Cmd?: string[];
  Entrypoint?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  ExposedPorts?: Record<string, unknown>;
  Labels?: Record<string, string>;
  StopSignal?: string;
  Healthcheck?: object;
}

/**
 * The container's stored Config: the request's fields over the image's, as dockerd merges them (an
 * Entrypoint given in the request drops the image's Cmd), and the command line to run.
 */
export function mergeImageConfig(
  p: ParsedCreate,
  img: ImageDefaults,
  ctx: { id: string; hostHostname?: string },
): { config: Record<string, unknown>; argv: string[] } {
  const cfg = p.config;
  const entrypoint = Array.isArray(cfg.Entrypoint) ? strList(cfg.Entrypoint, 'Entrypoint') : typeof cfg.Entrypoint === 'string' ? [cfg.Entrypoint] : (img.Entrypoint ?? []);
  const cmd = cfg.Cmd !== undefined && cfg.Cmd !== null ? strList(cfg.Cmd, 'Cmd') : cfg.Entrypoint !== undefined && cfg.Entrypoint !== null ? [] : (img.Cmd ?? []);
  const argv = [...entrypoint, ...cmd];
  if (argv.length === 0) throw invalidParameter('container.no_command', 'no command specified');
  const hostname = typeof cfg.Hostname === 'string' && cfg.Hostname ? cfg.Hostname : (ctx.hostHostname ?? ctx.id.slice(0, 12));
  const config: Record<string, unknown> = {
    Hostname: hostname, Domainname: cfg.Domainname ?? '', User: cfg.User ?? img.User ?? '',
    AttachStdin: cfg.AttachStdin ?? false, AttachStdout: cfg.AttachStdout ?? false, AttachStderr: cfg.AttachStderr ?? false,
    ExposedPorts: { ...(img.ExposedPorts ?? {}), ...((cfg.ExposedPorts as object | undefined) ?? {}) },
    Tty: cfg.Tty === true, OpenStdin: cfg.OpenStdin === true, StdinOnce: cfg.StdinOnce === true,
    Env: mergeEnv(img.Env ?? [], strList(cfg.Env, 'Env')), Cmd: cmd, Image: p.image, Volumes: cfg.Volumes ?? null,
    WorkingDir: cfg.WorkingDir || img.WorkingDir || '',
    Entrypoint: entrypoint.length ? entrypoint : null, OnBuild: null,
    Labels: { ...(img.Labels ?? {}), ...((cfg.Labels as Record<string, string> | undefined) ?? {}) },
    ...(cfg.StopSignal || img.StopSignal ? { StopSignal: cfg.StopSignal ?? img.StopSignal } : {}),
    ...mergeHealthcheck(cfg.Healthcheck as Record<string, unknown> | undefined, img.Healthcheck as Record<string, unknown> | undefined),
    ...(typeof cfg.StopTimeout === 'number' ? { StopTimeout: cfg.StopTimeout } : {}),
  };
  return { config, argv };
}

/** dockerd's merge: the request's healthcheck over the image's, field by field (zero = the image's). */
function mergeHealthcheck(req: Record<string, unknown> | undefined, img: Record<string, unknown> | undefined): { Healthcheck?: Record<string, unknown> } {
  if (!req && !img) return {};
  const out: Record<string, unknown> = { ...(img ?? {}) };
  for (const [k, v] of Object.entries(req ?? {})) {
    if (v === undefined || v === null || v === 0 || (Array.isArray(v) && v.length === 0)) continue;
    out[k] = v;
  }
  return { Healthcheck: out };
}
