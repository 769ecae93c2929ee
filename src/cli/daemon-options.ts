/**
 * redesd's command line, after dockerd's flags where they apply. Parsed with node's util.parseArgs;
 * dockerd-style booleans (`--iptables=false`, `--debug`) are normalised first.
 */
import { parseArgs } from 'node:util';
import { parseAddressPoolFlags, parsePrefix, formatNetwork, formatAddress, type PoolSpec } from '../ipam/index.js';

export interface DaemonOptions {
  socketPath: string;
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
  resolvConf: string;
  /** Make `busybox:latest` present at start (built from Debian's busybox-static). */
  busyboxImage: boolean;
  /** Budget of one DNS query the embedded server forwards upstream, in ms (--dns-upstream-timeout). */
  dnsUpstreamTimeoutMs: number;
  /** A network namespace standing for "the world" in `redes audit --verify` probes (--audit-world-netns). */
  auditWorldNetns?: string;
  /** docker.io mirrors (--registry-mirror URL, repeatable). */
  registryMirrors: string[];
  /** Registries reached over http or unverified TLS (--insecure-registry HOST[:PORT]|CIDR). */
  insecureRegistries: string[];
  /** certs.d layout of per-registry CA and client certificates (--registry-certs-dir). */
  registryCertsDir: string;
  /** The host name the engine reports (info Name, swarm node HOSTNAME). */
  hostname?: string;
  /** An existing etcd cluster to use as the cluster store (--cluster-store etcd://...). */
  clusterStore?: ClusterStoreOption;
}

export interface ClusterStoreOption {
  /** Client URLs (https when TLS files are given, else http). */
  endpoints: string[];
  clusterId: string;
  /** This engine's address for the other hosts (--cluster-advertise). */
  advertise: string;
  tls?: { ca: string; cert?: string; key?: string };
}

export const DAEMON_USAGE = `Usage: redesd [OPTIONS]

A Docker-compatible networking engine (serves the Docker Engine API on a unix socket).

Options:
  -H, --host unix://PATH              Socket to listen on (default unix:///run/redes/<prefix>/docker.sock)
      --data-root DIR                 Persistent state (default /var/lib/redes/<prefix>)
      --exec-root DIR                 Runtime files (default /run/redes/<prefix>)
      --prefix NAME                   Instance prefix carried by every kernel object (default redes)
      --bip CIDR                      Address and prefix of the default bridge (default 172.17.0.1/16)
      --default-address-pool base=CIDR,size=N   Pools for new networks (repeatable)
      --iptables=false                Program no firewall rules
      --icc=false                     No traffic between containers on the default bridge but linked ports
      --resolv-conf FILE              Upstream resolvers for containers (default /etc/resolv.conf)
      --dns-upstream-timeout MS       Budget of a DNS query forwarded upstream (default 1000)
      --audit-world-netns NAME        Namespace the audit probes "the world" from (sandboxes set it)
      --busybox-image                 Make busybox:latest present at start (sandboxes use it)
      --hostname NAME                 Host name the engine reports (info Name, swarm node HOSTNAME)
      --cluster-store etcd://H:P[,H:P...][/CLUSTER]  Use an existing etcd cluster as the cluster store
      --cluster-advertise ADDR        This engine's address for the cluster (with --cluster-store)
      --cluster-store-opt kv.cacertfile=F|kv.certfile=F|kv.keyfile=F   TLS files for --cluster-store (repeatable)
      --registry-mirror URL           A docker.io mirror tried before Docker Hub (repeatable)
      --insecure-registry HOST|CIDR   Allow http and unverified TLS for a registry (repeatable)
      --registry-certs-dir DIR        Per-registry certificates, certs.d layout (default /etc/docker/certs.d)
      --log-level LEVEL               debug, info, warn, error, fatal (default info)
  -D, --debug                         Same as --log-level debug
      --allow-root-netns              Allow running in the machine's root network namespace
  -h, --help                          Print this help
`;

const BOOL_FLAGS = new Set(['--iptables', '--icc', '--debug', '--allow-root-netns', '--busybox-image']);

function normalise(argv: readonly string[]): string[] {
  return argv.map((a) => {
    if (BOOL_FLAGS.has(a)) return `${a}=true`;
    if (a === '-D') return '--debug=true';
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
      host: { type: 'string', short: 'H' },
      'data-root': { type: 'string' },
      'exec-root': { type: 'string' },
      prefix: { type: 'string' },
      bip: { type: 'string' },
      'default-address-pool': { type: 'string', multiple: true },
      iptables: { type: 'string' },
      icc: { type: 'string' },
      'resolv-conf': { type: 'string' },
      'log-level': { type: 'string' },
      debug: { type: 'string' },
      'allow-root-netns': { type: 'string' },
      'busybox-image': { type: 'string' },
      'dns-upstream-timeout': { type: 'string' },
      'audit-world-netns': { type: 'string' },
      hostname: { type: 'string' },
      'cluster-store': { type: 'string' },
      'cluster-advertise': { type: 'string' },
      'cluster-store-opt': { type: 'string', multiple: true },
      'registry-mirror': { type: 'string', multiple: true },
      'insecure-registry': { type: 'string', multiple: true },
      'registry-certs-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const prefix = values.prefix ?? 'redes';
  if (!PREFIX.test(prefix)) throw new Error(`invalid --prefix ${JSON.stringify(prefix)}: want 1 to 12 lowercase letters and digits, starting with a letter`);
  const host = values.host ?? `unix:///run/redes/${prefix}/docker.sock`;
  if (!host.startsWith('unix://') || host.length <= 'unix://'.length) {
    throw new Error(`invalid -H ${JSON.stringify(host)}: only unix://PATH sockets are supported`);
  }
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
  const clusterStore = parseClusterStore(values['cluster-store'], values['cluster-advertise'], values['cluster-store-opt'] ?? []);
  return {
    ...(world ? { auditWorldNetns: world } : {}),
    ...(values.hostname ? { hostname: values.hostname } : {}),
    ...(clusterStore ? { clusterStore } : {}),
    socketPath: host.slice('unix://'.length),
    dataRoot: values['data-root'] ?? `/var/lib/redes/${prefix}`,
    execRoot: values['exec-root'] ?? `/run/redes/${prefix}`,
    prefix,
    ...(bip ? { bip } : {}),
    ...(values['default-address-pool'] ? { pools: parseAddressPoolFlags(values['default-address-pool']) } : {}),
    iptables: parseBoolFlag('iptables', values.iptables, true),
    icc: parseBoolFlag('icc', values.icc, true),
    logLevel,
    allowRootNetns: parseBoolFlag('allow-root-netns', values['allow-root-netns'], false),
    resolvConf: values['resolv-conf'] ?? '/etc/resolv.conf',
    busyboxImage: parseBoolFlag('busybox-image', values['busybox-image'], false),
    dnsUpstreamTimeoutMs: Number(dnsTimeout),
    registryMirrors: (values['registry-mirror'] ?? []).map((m) => {
      if (!/^https?:\/\/[A-Za-z0-9.-]+(:[0-9]+)?\/?$/.test(m)) throw new Error(`invalid --registry-mirror ${JSON.stringify(m)}: want http(s)://HOST[:PORT]`);
      return m;
    }),
    insecureRegistries: values['insecure-registry'] ?? [],
    registryCertsDir: values['registry-certs-dir'] ?? '/etc/docker/certs.d',
  };
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
  if (!advertise || !/^[0-9a-fA-F.:]+$/.test(advertise)) throw new Error('--cluster-store needs --cluster-advertise ADDR (this engine\'s IP address)');
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
    advertise,
    ...(tls ? { tls } : {}),
  };
}
