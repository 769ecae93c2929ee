/**
 * redesd's command line, after dockerd's flags where they apply. Parsed with node's util.parseArgs;
 * dockerd-style booleans (`--iptables=false`, `--debug`) are normalised first.
 */
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { logLimits, validateLogConfig, type LogConfig } from '../engine/index.js';
import { parseAddressPoolFlags, parsePrefix, formatNetwork, formatAddress, type PoolSpec } from '../ipam/index.js';

export interface DaemonOptions {
  socketPath: string;
  /** Group owning the unix socket (--group, default docker; created as a system group if missing). */
  socketGroup: string;
  /** TCP listeners (-H tcp://ADDR:PORT), served with mutual TLS unless --insecure-tcp. */
  tcp: TcpListen[];
  /** --tlsverify files: client certificates must chain to `ca`. */
  tls?: { ca: string; cert: string; key: string };
  dataRoot: string;
  execRoot: string;
  prefix: string;
  bip?: { subnet: string; gateway: string };
  pools?: PoolSpec[];
  iptables: boolean;
  /** Inter-container communication on the default bridge (dockerd's --icc; links still pass when off). */
  icc: boolean;
  logLevel: string;
  allowRootNetns: boolean;
  /** `runc create` in a private mount namespace holding only the container's own mounts (--runc-private-mounts). */
  runcPrivateMounts: boolean;
  resolvConf: string;
  /** Make `busybox:latest` present at start (built from Debian's busybox-static). */
  busyboxImage: boolean;
  /** Budget of one DNS query the embedded server forwards upstream, in ms (--dns-upstream-timeout). */
  dnsUpstreamTimeoutMs: number;
  /** Seconds a client may take to send a request's head (--api-header-timeout; slow clients are cut off). */
  apiHeaderTimeoutS: number;
  /** A network namespace standing for "the world" in `redes audit --verify` probes (--audit-world-netns). */
  auditWorldNetns?: string;
  /** docker.io mirrors (--registry-mirror URL, repeatable). */
  registryMirrors: string[];
  /** Registries reached over http or unverified TLS (--insecure-registry HOST[:PORT]|CIDR). */
  insecureRegistries: string[];
  /** certs.d layout of per-registry CA and client certificates (--registry-certs-dir). */
  registryCertsDir: string;
  /** Unix socket of a CONNECT proxy for registry connections (--registry-uplink; `redes sandbox up --uplink`). */
  registryUplink?: string;
  /** The host name the engine reports (info Name, swarm node HOSTNAME). */
  hostname?: string;
  /** What `host-gateway` in `--add-host` stands for (--host-gateway-ip, at most one per family); default: the default bridge's gateways. */
  hostGatewayIps?: string[];
  /** --log-driver and --log-opt: every container's log settings unless it gives its own. */
  logDefaults: LogConfig;
  /** An existing etcd cluster to use as the cluster store (--cluster-store etcd://...). */
  clusterStore?: ClusterStoreOption;
  /** Userspace WireGuard for encrypted overlays where the kernel has no module (--wireguard-go; default wireguard-go on PATH). */
  wireguardGo?: string;
}

export interface TcpListen {
  address: string;
  port: number;
}

export interface ClusterStoreOption {
  /** Client URLs (https when TLS files are given, else http). */
  endpoints: string[];
  clusterId: string;
  /** This engine's address for the other hosts (--cluster-advertise, without a port). */
  advertise: string;
  tls?: { ca: string; cert?: string; key?: string };
  /** The flags as given, for `/info`'s ClusterStore and ClusterAdvertise. */
  shown: { store: string; advertise: string };
}

export const DAEMON_USAGE = `Usage: redesd [OPTIONS]

A Docker-compatible networking engine (serves the Docker Engine API on a unix socket).

Options:
  -H, --host unix://PATH|tcp://ADDR:PORT   Socket to listen on, repeatable (default unix:///run/redes/<prefix>/docker.sock)
      --group NAME                    Group owning the unix socket, mode 0660 (default docker, created if missing)
      --tlsverify                     Serve tcp:// hosts with TLS and require client certificates signed by --tlscacert
      --tlscacert FILE                CA that client certificates must chain to
      --tlscert FILE                  Server certificate
      --tlskey FILE                   Server key
      --insecure-tcp                  Allow tcp:// hosts without TLS (anyone reaching the port is root)
      --data-root DIR                 Persistent state (default /var/lib/redes/<prefix>)
      --exec-root DIR                 Runtime files (default /run/redes/<prefix>)
      --prefix NAME                   Instance prefix carried by every kernel object (default redes)
      --bip CIDR                      Address and prefix of the default bridge (default 172.17.0.1/16)
      --default-address-pool base=CIDR,size=N   Pools for new networks (repeatable)
      --host-gateway-ip IP            What 'host-gateway' in --add-host resolves to, one IPv4 and one IPv6 at most
                                      (repeatable; default the default bridge's gateway addresses)
      --iptables=false                Program no firewall rules
      --icc=false                     No traffic between containers on the default bridge but linked ports
      --resolv-conf FILE              Upstream resolvers for containers (default /etc/resolv.conf)
      --dns-upstream-timeout MS       Budget of a DNS query forwarded upstream (default 1000)
      --api-header-timeout SECONDS    Time a client may take to send a request's head (default 60)
      --audit-world-netns NAME        Namespace the audit probes "the world" from (sandboxes set it)
      --busybox-image                 Make busybox:latest present at start (sandboxes use it)
      --hostname NAME                 Host name the engine reports (info Name, swarm node HOSTNAME)
      --cluster-store etcd://H:P[,H:P...][/CLUSTER]  Use an existing etcd cluster as the cluster store
      --cluster-advertise ADDR        This engine's address for the cluster (with --cluster-store)
      --cluster-store-opt kv.cacertfile=F|kv.certfile=F|kv.keyfile=F   TLS files for --cluster-store (repeatable)
      --wireguard-go PATH             Userspace WireGuard for encrypted overlay networks when the kernel has no
                                      WireGuard module (default wireguard-go, found on PATH)
      --registry-mirror URL           A docker.io mirror tried before Docker Hub (repeatable)
      --insecure-registry HOST|CIDR   Allow http and unverified TLS for a registry (repeatable)
      --registry-certs-dir DIR        Per-registry certificates, certs.d layout (default /etc/docker/certs.d)
      --registry-uplink SOCKET        Open registry connections through this unix-socket CONNECT proxy
      --log-level LEVEL               debug, info, warn, error, fatal (default info)
      --log-driver NAME               Containers' default log driver: json-file, local or none (default json-file)
      --log-opt KEY=VALUE             Default log options, e.g. max-size=10m, max-file=3 (repeatable; json-file
                                      without max-size rotates at 20MB x 5 files)
  -D, --debug                         Same as --log-level debug
      --allow-root-netns              Allow running in the machine's root network namespace
      --runc-private-mounts=false     Run \`runc create\` in the daemon's mount namespace, not in a private one
                                      without the other containers' mounts (default true)
  -h, --help                          Print this help
`;

const BOOL_FLAGS = new Set(['--iptables', '--icc', '--debug', '--allow-root-netns', '--runc-private-mounts', '--busybox-image', '--tlsverify', '--insecure-tcp']);

function normalise(argv: readonly string[]): string[] {
  return argv.map((a) => {
    if (BOOL_FLAGS.has(a)) return `${a}=true`;
    if (a === '-D') return '--debug=true';
    if (a.startsWith('-H=')) return `--host=${a.slice(3)}`; // dockerd accepts -H=VALUE; parseArgs would keep the '='
    return a;
  });
}

function parseBoolFlag(name: string, v: string | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (['true', '1', 't'].includes(v)) return true;
  if (['false', '0', 'f'].includes(v)) return false;
  throw new Error(`invalid value ${JSON.stringify(v)} for --${name}: want true or false`);
}

const PREFIX = /^[a-z][a-z0-9]{0,11}$/;

export function parseDaemonOptions(argv: readonly string[]): DaemonOptions | 'help' {
  const { values } = parseArgs({
    args: normalise(argv),
    options: {
      host: { type: 'string', short: 'H', multiple: true },
      group: { type: 'string' },
      tlsverify: { type: 'string' },
      tlscacert: { type: 'string' },
      tlscert: { type: 'string' },
      tlskey: { type: 'string' },
      'insecure-tcp': { type: 'string' },
      'data-root': { type: 'string' },
      'exec-root': { type: 'string' },
      prefix: { type: 'string' },
      bip: { type: 'string' },
      'default-address-pool': { type: 'string', multiple: true },
      'host-gateway-ip': { type: 'string', multiple: true },
      iptables: { type: 'string' },
      icc: { type: 'string' },
      'resolv-conf': { type: 'string' },
      'log-level': { type: 'string' },
      debug: { type: 'string' },
      'allow-root-netns': { type: 'string' },
      'runc-private-mounts': { type: 'string' },
      'busybox-image': { type: 'string' },
      'dns-upstream-timeout': { type: 'string' },
      'api-header-timeout': { type: 'string' },
      'audit-world-netns': { type: 'string' },
      hostname: { type: 'string' },
      'cluster-store': { type: 'string' },
      'cluster-advertise': { type: 'string' },
      'cluster-store-opt': { type: 'string', multiple: true },
      'wireguard-go': { type: 'string' },
      'registry-mirror': { type: 'string', multiple: true },
      'insecure-registry': { type: 'string', multiple: true },
      'registry-certs-dir': { type: 'string' },
      'registry-uplink': { type: 'string' },
      'log-driver': { type: 'string' },
      'log-opt': { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const prefix = values.prefix ?? 'redes';
  if (!PREFIX.test(prefix)) throw new Error(`invalid --prefix ${JSON.stringify(prefix)}: want 1 to 12 lowercase letters and digits, starting with a letter`);
  const listen = parseHosts(values.host ?? [], prefix, {
    tlsverify: parseBoolFlag('tlsverify', values.tlsverify, false),
    insecureTcp: parseBoolFlag('insecure-tcp', values['insecure-tcp'], false),
    ca: values.tlscacert,
    cert: values.tlscert,
    key: values.tlskey,
  });
  const group = values.group ?? 'docker';
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(group)) throw new Error(`invalid --group ${JSON.stringify(group)}: want a group name (lowercase letters, digits, '_' or '-')`);
  let bip: DaemonOptions['bip'];
  if (values.bip) {
    const p = parsePrefix(values.bip);
    if (p.family !== 4) throw new Error(`invalid --bip ${JSON.stringify(values.bip)}: want an IPv4 CIDR`);
    bip = { subnet: formatNetwork(p), gateway: formatAddress(4, p.addr === p.network ? p.network + 1n : p.addr) };
  }
  const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
  let logLevel = values['log-level'] ?? 'info';
  if (!levels.includes(logLevel)) throw new Error(`invalid --log-level ${JSON.stringify(logLevel)}: want one of ${levels.join(', ')}`);
  if (parseBoolFlag('debug', values.debug, false)) logLevel = 'debug';
  const headerTimeout = values['api-header-timeout'] ?? '60';
  if (!/^\d+$/.test(headerTimeout) || Number(headerTimeout) < 1 || Number(headerTimeout) > 3600) {
    throw new Error(`invalid --api-header-timeout ${JSON.stringify(headerTimeout)}: want seconds from 1 to 3600`);
  }
  const dnsTimeout = values['dns-upstream-timeout'] ?? '1000';
  // Whole milliseconds, at least 1 and at most a minute: a resolver client gives up long before that.
  if (!/^[0-9]+$/.test(dnsTimeout) || Number(dnsTimeout) < 1 || Number(dnsTimeout) > 60_000) {
    throw new Error(`invalid --dns-upstream-timeout ${JSON.stringify(dnsTimeout)}: want milliseconds from 1 to 60000`);
  }
  const world = values['audit-world-netns'];
  if (world !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(world)) throw new Error(`invalid --audit-world-netns ${JSON.stringify(world)}: want a name under /run/netns`);
  if (values.hostname !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(values.hostname)) {
    throw new Error(`invalid --hostname ${JSON.stringify(values.hostname)}: want letters, digits, '.', '_' or '-'`);
  }
  const hostGatewayIps = parseHostGatewayIps(values['host-gateway-ip'] ?? []);
  const clusterStore = parseClusterStore(values['cluster-store'], values['cluster-advertise'], values['cluster-store-opt'] ?? []);
  const logDefaults = parseLogFlags(values['log-driver'], values['log-opt'] ?? []);
  const wireguardGo = values['wireguard-go'];
  // An absolute path (checked when an encrypted network needs it: the program may be installed later).
  if (wireguardGo !== undefined && !/^\/[^\0]*[^/]$/.test(wireguardGo)) throw new Error(`invalid --wireguard-go ${JSON.stringify(wireguardGo)}: want the absolute path of a program`);
  return {
    ...(wireguardGo ? { wireguardGo } : {}),
    logDefaults,
    ...(world ? { auditWorldNetns: world } : {}),
    ...(values.hostname ? { hostname: values.hostname } : {}),
    ...(clusterStore ? { clusterStore } : {}),
    ...listen,
    socketGroup: group,
    dataRoot: values['data-root'] ?? `/var/lib/redes/${prefix}`,
    execRoot: values['exec-root'] ?? `/run/redes/${prefix}`,
    prefix,
    ...(bip ? { bip } : {}),
    ...(values['default-address-pool'] ? { pools: parseAddressPoolFlags(values['default-address-pool']) } : {}),
    ...(hostGatewayIps.length ? { hostGatewayIps } : {}),
    iptables: parseBoolFlag('iptables', values.iptables, true),
    icc: parseBoolFlag('icc', values.icc, true),
    logLevel,
    allowRootNetns: parseBoolFlag('allow-root-netns', values['allow-root-netns'], false),
    runcPrivateMounts: parseBoolFlag('runc-private-mounts', values['runc-private-mounts'], true),
    resolvConf: values['resolv-conf'] ?? '/etc/resolv.conf',
    busyboxImage: parseBoolFlag('busybox-image', values['busybox-image'], false),
    dnsUpstreamTimeoutMs: Number(dnsTimeout),
    apiHeaderTimeoutS: Number(headerTimeout),
    registryMirrors: (values['registry-mirror'] ?? []).map((m) => {
      if (!/^https?:\/\/[A-Za-z0-9.-]+(:[0-9]+)?\/?$/.test(m)) throw new Error(`invalid --registry-mirror ${JSON.stringify(m)}: want http(s)://HOST[:PORT]`);
      return m;
    }),
    insecureRegistries: values['insecure-registry'] ?? [],
    registryCertsDir: values['registry-certs-dir'] ?? '/etc/docker/certs.d',
    ...(values['registry-uplink'] ? { registryUplink: values['registry-uplink'] } : {}),
  };
}

/** --host-gateway-ip as dockerd: IP addresses, one IPv4 and one IPv6 at most (its texts). */
export function parseHostGatewayIps(values: readonly string[]): string[] {
  const seen = new Set<number>();
  return values.map((v) => {
    const family = isIP(v);
    if (!family) throw new Error(`invalid argument ${JSON.stringify(v)} for "--host-gateway-ip" flag: ParseAddr(${JSON.stringify(v)}): unable to parse IP`);
    if (seen.has(family)) throw new Error(`only one IPv${family} host gateway IP address can be specified`);
    seen.add(family);
    return family === 4 ? v : formatAddress(6, parsePrefix(`${v}/128`).addr);
  });
}

/** --log-driver and --log-opt, checked as a container's LogConfig would be. */
function parseLogFlags(driver: string | undefined, opts: readonly string[]): LogConfig {
  const Config: Record<string, string> = {};
  for (const o of opts) {
    const eq = o.indexOf('=');
    if (eq <= 0) throw new Error(`invalid --log-opt ${JSON.stringify(o)}: want KEY=VALUE`);
    Config[o.slice(0, eq)] = o.slice(eq + 1);
  }
  const cfg = { Type: driver || 'json-file', Config };
  try {
    validateLogConfig(cfg);
    logLimits(cfg);
  } catch (e) {
    throw new Error(`invalid log settings (--log-driver, --log-opt): ${(e as Error).message}`);
  }
  return cfg;
}

interface TlsFlags {
  tlsverify: boolean;
  insecureTcp: boolean;
  ca: string | undefined;
  cert: string | undefined;
  key: string | undefined;
}

/** -H flags as dockerd: one unix socket (the default one when none is given) plus any tcp:// listeners. */
export function parseHosts(hosts: readonly string[], prefix: string, t: TlsFlags): Pick<DaemonOptions, 'socketPath' | 'tcp' | 'tls'> {
  const unix: string[] = [];
  const tcp: TcpListen[] = [];
  for (const h of hosts) {
    if (h.startsWith('unix://') && h.length > 'unix://'.length) {
      unix.push(h.slice('unix://'.length));
      continue;
    }
    const m = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d{1,5})$/.exec(h);
    const port = Number(m?.[2]);
    if (!m?.[1] || port < 1 || port > 65535) throw new Error(`invalid -H ${JSON.stringify(h)}: want unix://PATH or tcp://ADDR:PORT (an IP address)`);
    tcp.push({ address: m[1].replace(/^\[|\]$/g, ''), port });
  }
  if (unix.length > 1) throw new Error('only one unix:// host can be given');
  let tls: DaemonOptions['tls'];
  if (t.tlsverify) {
    if (!t.ca || !t.cert || !t.key) throw new Error('--tlsverify needs --tlscacert, --tlscert and --tlskey');
    tls = { ca: t.ca, cert: t.cert, key: t.key };
  } else if (t.ca || t.cert || t.key) {
    throw new Error('--tlscacert, --tlscert and --tlskey need --tlsverify (redesd serves TCP only with mutual TLS)');
  }
  if (tcp.length && !tls && !t.insecureTcp) {
    throw new Error(
      'refusing to listen on tcp:// without TLS: anyone who reaches the port controls the host. Give --tlsverify --tlscacert --tlscert --tlskey, or --insecure-tcp to accept the risk',
    );
  }
  return { socketPath: unix[0] ?? `/run/redes/${prefix}/docker.sock`, tcp, ...(tls ? { tls } : {}) };
}

/** --cluster-store etcd://h1:2379,h2:2379[/cluster-id] with --cluster-advertise and TLS options. */
export function parseClusterStore(url: string | undefined, advertise: string | undefined, opts: readonly string[]): ClusterStoreOption | undefined {
  if (url === undefined) {
    if (advertise !== undefined || opts.length) throw new Error('--cluster-advertise and --cluster-store-opt need --cluster-store');
    return undefined;
  }
  const m = /^etcd:\/\/([^/]+)(?:\/([a-z0-9][a-z0-9-]{0,62}))?\/?$/.exec(url);
  if (!m?.[1]) throw new Error(`invalid --cluster-store ${JSON.stringify(url)}: want etcd://HOST:PORT[,HOST:PORT...][/CLUSTER-ID]`);
  const hosts = m[1].split(',');
  for (const h of hosts) if (!/^[A-Za-z0-9.:[\]-]+:\d{1,5}$/.test(h)) throw new Error(`invalid --cluster-store host ${JSON.stringify(h)}: want HOST:PORT`);
  const addr = advertiseAddress(advertise);
  const files: Record<string, string> = {};
  for (const o of opts) {
    const [k, v] = [o.slice(0, o.indexOf('=')), o.slice(o.indexOf('=') + 1)];
    if (!['kv.cacertfile', 'kv.certfile', 'kv.keyfile'].includes(k) || !v) throw new Error(`invalid --cluster-store-opt ${JSON.stringify(o)}: want kv.cacertfile=, kv.certfile= or kv.keyfile=`);
    files[k] = v;
  }
  if ((files['kv.certfile'] || files['kv.keyfile']) && !files['kv.cacertfile']) throw new Error('--cluster-store-opt kv.certfile/kv.keyfile need kv.cacertfile');
  const ca = files['kv.cacertfile'];
  const tls = ca ? { ca, ...(files['kv.certfile'] ? { cert: files['kv.certfile'] } : {}), ...(files['kv.keyfile'] ? { key: files['kv.keyfile'] } : {}) } : undefined;
  return {
    endpoints: hosts.map((h) => `${tls ? 'https' : 'http'}://${h}`),
    clusterId: m[2] ?? 'default',
    advertise: addr,
    ...(tls ? { tls } : {}),
    shown: { store: url, advertise: advertise ?? addr },
  };
}

/** --cluster-advertise: an IP address, with a port as Docker wrote it (`IP:PORT`, `[IPv6]:PORT`) or not; the address alone. */
function advertiseAddress(given: string | undefined): string {
  const want = "--cluster-store needs --cluster-advertise ADDR[:PORT] (this engine's IP address on the network the hosts share)";
  if (!given) throw new Error(want);
  if (isIP(given)) return given;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(given);
  const addr = m?.[1] ?? m?.[2];
  if (!addr || !isIP(addr) || Number(m?.[3]) > 65535) throw new Error(`invalid --cluster-advertise ${JSON.stringify(given)}: ${want.slice('--cluster-store needs --cluster-advertise '.length)}`);
  return addr;
}
