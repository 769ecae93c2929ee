/** `/_ping`, `/version`, `/info`: what the docker CLI asks first, in the shapes it decodes. */
import { arch, cpus, hostname, release, totalmem } from 'node:os';
import type { Router } from '../router.js';
import { sendJson } from '../body.js';
import { API_VERSION, MIN_API_VERSION, compareVersions } from '../version.js';

export const ENGINE_VERSION = '28.2.2-redes.0.1.0';

export interface SystemDeps {
  daemonId: string;
  dataRoot: string;
  /** Counts and names the daemon knows, filled in by the daemon at each /info. */
  counts: () => { containers: number; running: number; paused: number; stopped: number; images: number };
  iptables: boolean;
  /** Cgroup version and IPv4 forwarding, read from the host at each /info. */
  hostFacts: () => Promise<{ cgroupVersion: '1' | '2'; ipv4Forwarding: boolean }>;
  defaultAddressPools: Array<{ Base: string; Size: number }>;
  /** The host name reported (info Name); default the machine's. */
  hostname?: string;
  /** `docker info`'s Swarm block; inactive when absent. */
  swarm?: () => Promise<Record<string, unknown>>;
  /** `docker info`'s SecurityOptions: only what is active (seccomp, AppArmor). */
  securityOptions?: string[];
  /** The daemon's --log-driver (default json-file). */
  loggingDriver?: string;
  /** More top-level fields (ClusterStore and ClusterAdvertise of a --cluster-store engine). */
  extra?: Record<string, string>;
}

const goArch = (): string => ({ x64: 'amd64', arm64: 'arm64', ia32: '386' })[arch()] ?? arch();

function pingHeaders(): Record<string, string> {
  return {
    'API-Version': API_VERSION,
    'OSType': 'linux',
    'Docker-Experimental': 'false',
    'Builder-Version': '1',
    'Cache-Control': 'no-cache, no-store, must-revalidate',
    'Pragma': 'no-cache',
  };
}

export function systemRoutes(router: Router, deps: SystemDeps): void {
  router.on('GET', '/_ping', ({ req, res }) => {
    const headers = { ...pingHeaders(), 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': '2' };
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : 'OK');
  });
  router.on('GET', '/version', ({ res }) => {
    const kernel = release();
    sendJson(res, 200, {
      Platform: { Name: 'redes' },
      Components: [
        {
          Name: 'Engine',
          Version: ENGINE_VERSION,
          Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux', Arch: goArch(), KernelVersion: kernel, GitCommit: 'redes', GoVersion: `node${process.versions.node}`, BuildTime: '', Experimental: 'false' },
        },
      ],
      Version: ENGINE_VERSION,
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: 'redes',
      GoVersion: `node${process.versions.node}`,
      Os: 'linux',
      Arch: goArch(),
      KernelVersion: kernel,
      BuildTime: '',
    });
  });
  router.on('GET', '/info', async ({ res, version }) => {
    const c = deps.counts();
    const host = await deps.hostFacts();
    const swarm = deps.swarm ? await deps.swarm() : { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null };
    sendJson(res, 200, {
      ID: deps.daemonId,
      Containers: c.containers,
      ContainersRunning: c.running,
      ContainersPaused: c.paused,
      ContainersStopped: c.stopped,
      Images: c.images,
      Driver: 'overlay2',
      DriverStatus: [['Backing Filesystem', 'overlayfs']],
      Plugins: { Volume: [], Network: ['bridge', 'host', 'macvlan', 'null', 'overlay'], Authorization: null, Log: ['json-file', 'local'] },
      MemoryLimit: true,
      SwapLimit: false,
      CpuCfsPeriod: true,
      CpuCfsQuota: true,
      CPUShares: true,
      CPUSet: true,
      PidsLimit: true,
      IPv4Forwarding: host.ipv4Forwarding,
      // Docker 28 omits these from API 1.50 on and answers false to older clients.
      ...(compareVersions(version, '1.50') < 0 ? { BridgeNfIptables: false, BridgeNfIp6tables: false } : {}),
      Debug: false,
      NFd: 0,
      OomKillDisable: false,
      NGoroutines: 0,
      SystemTime: new Date().toISOString(),
      LoggingDriver: deps.loggingDriver ?? 'json-file',
      CgroupDriver: 'cgroupfs',
      CgroupVersion: host.cgroupVersion,
      NEventsListener: 0,
      KernelVersion: release(),
      OperatingSystem: 'redes (Docker-compatible networking engine)',
      OSVersion: '',
      OSType: 'linux',
      Architecture: arch() === 'x64' ? 'x86_64' : arch(),
      IndexServerAddress: '',
      RegistryConfig: { IndexConfigs: {}, InsecureRegistryCIDRs: [], Mirrors: [] },
      NCPU: cpus().length,
      MemTotal: totalmem(),
      GenericResources: null,
      DockerRootDir: deps.dataRoot,
      HttpProxy: '',
      HttpsProxy: '',
      NoProxy: '',
      Name: deps.hostname ?? hostname(),
      Labels: [],
      ExperimentalBuild: false,
      ServerVersion: ENGINE_VERSION,
      Runtimes: { runc: { path: 'runc' } },
      DefaultRuntime: 'runc',
      Swarm: swarm,
      ...deps.extra,
      LiveRestoreEnabled: true,
      Isolation: '',
      InitBinary: '',
      ContainerdCommit: { ID: '' },
      RuncCommit: { ID: '' },
      InitCommit: { ID: '' },
      SecurityOptions: deps.securityOptions ?? ['name=seccomp,profile=builtin'],
      DefaultAddressPools: deps.defaultAddressPools,
      FirewallBackend: deps.iptables ? { Driver: 'nftables' } : undefined,
      CDISpecDirs: [],
      Warnings: [
        ...(host.ipv4Forwarding ? [] : ['WARNING: IPv4 forwarding is disabled']),
        ...(deps.iptables ? [] : ['WARNING: --iptables=false: redes programs no firewall rules']),
      ],
    });
  });
}
