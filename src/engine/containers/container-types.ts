/**
 * The container side of the engine as the API layer sees it: records (what inspect and list show) and
 * the service interface. The API builds Docker's JSON from these; it never reaches the runtime itself.
 */
import type { Readable, Writable } from 'node:stream';
import type { MountPoint } from './container-mounts.js';

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface EndpointRecord {
  networkId: string;
  networkName: string;
  /** 64 hex; empty while the container is not running (Docker shows "" then). */
  endpointId: string;
  /** Requested by the user (`--ip`, `--ip6`, `--mac-address`, `--alias`). */
  ipamConfig: { ipv4Address?: string; ipv6Address?: string; linkLocalIps?: string[] };
  aliases: string[];
  /** EndpointSettings.DriverOpts as given (inspect shows them; null when none; the sysctls option is applied at join). */
  driverOpts?: Record<string, string>;
  /** Legacy links given on this network, "name:alias". */
  links: string[];
  macAddress: string;
  /** `--mac-address` as asked for, kept across stop/start. */
  requestedMac?: string;
  ipv4Address: string; // bare address, "" when none
  ipv4PrefixLen: number;
  ipv4Gateway: string;
  ipv6Address: string;
  ipv6PrefixLen: number;
  ipv6Gateway: string;
  /** Interface name inside the container (eth0, eth1, ...). */
  ifname: string;
  /** Host side of the veth pair (bridge driver). */
  hostIfname: string;
  /** Names answered by the embedded DNS for this endpoint (name, aliases, short id, hostname). */
  dnsNames: string[];
  /**
   * The endpoint the engine added on `docker_gwbridge` for a container whose networks give it no way
   * out (gateway-bridge.ts): not one of its networks in inspect, made at start, gone at stop.
   */
  sandboxGateway?: boolean;
}

/** Docker's State.Health. */
export interface HealthState {
  Status: 'starting' | 'healthy' | 'unhealthy';
  FailingStreak: number;
  Log: Array<{ Start: string; End: string; ExitCode: number; Output: string }>;
}

export interface ContainerState {
  status: ContainerStatus;
  pid: number;
  exitCode: number;
  error: string;
  startedAt: string;
  finishedAt: string;
  oomKilled: boolean;
  /** Frozen by `docker pause` (status stays running; views show "paused"). */
  paused?: boolean;
  /** Stopped or killed by the user (dockerd's HasBeenManuallyStopped): unless-stopped stays down. */
  manuallyStopped?: boolean;
  /** Set when the container has a healthcheck (health.ts). */
  health?: HealthState;
}

export interface ContainerRecord {
  id: string;
  /** Without the leading '/'. */
  name: string;
  created: string;
  /** Image id (sha256:...), and the reference the user gave. */
  image: string;
  imageRef: string;
  path: string;
  args: string[];
  /** Docker's Config object as stored (Cmd, Env, Labels, ExposedPorts, Tty, OpenStdin, ...), defaults filled. */
  config: Record<string, unknown>;
  /** Docker's HostConfig as stored (NetworkMode, Links, Dns, ExtraHosts, AutoRemove, ...), defaults filled. */
  hostConfig: Record<string, unknown>;
  /** bridge | host | none | container:<id> | <network name> — as Docker shows HostConfig.NetworkMode. */
  networkMode: string;
  /** Endpoints by network name. */
  endpoints: Record<string, EndpointRecord>;
  state: ContainerState;
  restartCount: number;
  /** Named netns of the container ('' for host mode; the other's for container: mode). */
  netns: string;
  hostnamePath: string;
  hostsPath: string;
  resolvConfPath: string;
  logPath: string;
  /** Data directory of this container. */
  dir: string;
  /** Binds, volumes and tmpfs mounts, planned at create (container-mounts.ts). */
  mounts?: MountPoint[];
}

/** One chunk of a container's or exec's output. */
export interface OutputChunk {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

/** A live attachment (docker attach / docker run without -d / docker exec). */
export interface AttachSession {
  tty: boolean;
  /** Object-mode stream of OutputChunk; ends when the process exits or the session closes. */
  output: Readable;
  /** Writing goes to the process's stdin; null when stdin was not attached. Ending it closes stdin. */
  stdin: Writable | null;
  resize(height: number, width: number): void;
  close(): void;
}

export interface LogLine extends OutputChunk {
  /** RFC 3339 with nanoseconds. */
  time: string;
}

export interface LogOptions {
  stdout: boolean;
  stderr: boolean;
  follow: boolean;
  /** undefined = all. */
  tail?: number;
  sinceNs?: bigint;
  untilNs?: bigint;
  signal?: AbortSignal;
}

export interface ExecRecord {
  id: string;
  containerId: string;
  running: boolean;
  exitCode: number | null;
  pid: number;
  openStdin: boolean;
  openStdout: boolean;
  openStderr: boolean;
  tty: boolean;
  entrypoint: string;
  arguments: string[];
  privileged: boolean;
  user: string;
  workingDir: string;
  env: string[];
  detachKeys: string;
  canRemove: boolean;
}

export interface ContainerService {
  /** POST /containers/create. `body` is Docker's create JSON; validated completely here. */
  create(name: string | undefined, body: unknown, apiVersion: string): Promise<{ id: string; warnings: string[] }>;
  /** By full id, name (with or without '/'), or unique id prefix; 404 `No such container: X`. */
  resolve(term: string): ContainerRecord;
  list(opts: { all: boolean; filters?: string | null; limit?: number }): ContainerRecord[];
  /** false when it was already running (the API answers 304). */
  start(term: string): Promise<boolean>;
  /** false when it was not running (304). `timeout` seconds, -1 = wait forever. */
  stop(term: string, opts: { signal?: string; timeout?: number }): Promise<boolean>;
  restart(term: string, opts: { signal?: string; timeout?: number }): Promise<void>;
  kill(term: string, signal?: string): Promise<void>;
  /** Resolves when the condition holds: not-running (default), next-exit, removed. */
  wait(term: string, condition: string): Promise<{ StatusCode: number; Error: { Message: string } | null }>;
  remove(term: string, opts: { force: boolean; volumes: boolean; link: boolean }): Promise<void>;
  rename(term: string, newName: string): Promise<void>;
  /** Works for created containers too: output flows from the start. */
  attach(term: string, opts: { stdin: boolean; stdout: boolean; stderr: boolean; logs: boolean; stream: boolean }): Promise<AttachSession>;
  logs(term: string, opts: LogOptions): AsyncIterable<LogLine>;
  resize(term: string, height: number, width: number): Promise<void>;
  execCreate(term: string, body: unknown): Promise<string>;
  /** With detach, resolves once started and returns null. */
  execStart(execId: string, opts: { detach: boolean; tty: boolean; consoleSize?: [number, number] }): Promise<AttachSession | null>;
  execInspect(execId: string): ExecRecord;
  execResize(execId: string, height: number, width: number): Promise<void>;
  connect(networkTerm: string, containerTerm: string, endpointConfig: unknown): Promise<void>;
  disconnect(networkTerm: string, containerTerm: string, force: boolean): Promise<void>;
  counts(): { containers: number; running: number; paused: number; stopped: number };
  /** Containers attached to a network (for network inspect): container id → endpoint. */
  endpointsOfNetwork(networkId: string): Array<{ container: ContainerRecord; endpoint: EndpointRecord }>;
}
