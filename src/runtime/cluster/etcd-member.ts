/**
 * One etcd member (Debian `etcd-server`, v3.4) run by the engine for its cluster: TLS with client
 * certificates on the peer and client URLs, started detached so it outlives an engine restart, found
 * again through its pidfile.
 *
 * Use: `await ensureEtcdMember(spec)` (starts it unless ours already runs, waits for /health),
 * `await stopEtcdMember(spec)`; `etcdHealthy(url, tls)` to poll a member.
 *
 * Beware:
 * - It listens on the address given (the node's advertise address) and on 127.0.0.1, in the network
 *   namespace of the caller: the engine's host namespace.
 * - `initialCluster`/`state` matter only for the first start; with a data directory etcd ignores them.
 * - A pid read back is signalled only when its command line still names our data directory.
 * - Heartbeat 100 ms / election 1 s: a leader lost is replaced in about a second or two, which
 *   bounds how long writes block (measured ~1.3 s with the defaults of 3.4 here).
 * - With `netns` (a lab's own etcd, started from the machine's namespace) the member runs in that
 *   named namespace and the caller cannot reach its URLs: readiness is read from its log instead
 *   (3.4's "serving client traffic" line for its address, written after the log's size at start).
 */
import https from 'node:https';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { nsenterArgv, pidAlive, pidCmdline, readPidfile, startDetached, stopPid, writePidfile } from '../../kernel/index.js';

export interface EtcdTlsFiles {
  ca: string;
  cert: string;
  key: string;
}

export interface EtcdMemberSpec {
  /** Member name (the node id). */
  name: string;
  dataDir: string;
  /** The address peers and clients use (the node's advertise address). */
  address: string;
  clientPort?: number;
  peerPort?: number;
  /** `name=https://addr:2380,...` including this member. */
  initialCluster: string;
  state: 'new' | 'existing';
  clusterToken: string;
  tls: EtcdTlsFiles;
  pidPath: string;
  logPath: string;
  /** A named network namespace to run in (default: the caller's); see the header. */
  netns?: string;
}

export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;

export const clientUrl = (address: string, port = ETCD_CLIENT_PORT): string => `https://${address}:${port}`;
export const peerUrl = (address: string, port = ETCD_PEER_PORT): string => `https://${address}:${port}`;

function etcdArgv(s: EtcdMemberSpec): string[] {
  const client = clientUrl(s.address, s.clientPort);
  const peer = peerUrl(s.address, s.peerPort);
  return [
    'etcd',
    '--name', s.name,
    '--data-dir', s.dataDir,
    '--listen-peer-urls', peer,
    '--initial-advertise-peer-urls', peer,
    '--listen-client-urls', s.address === '127.0.0.1' ? client : `${client},${clientUrl('127.0.0.1', s.clientPort)}`,
    '--advertise-client-urls', client,
    '--initial-cluster', s.initialCluster,
    '--initial-cluster-state', s.state,
    '--initial-cluster-token', s.clusterToken,
    '--cert-file', s.tls.cert, '--key-file', s.tls.key, '--trusted-ca-file', s.tls.ca, '--client-cert-auth',
    '--peer-cert-file', s.tls.cert, '--peer-key-file', s.tls.key, '--peer-trusted-ca-file', s.tls.ca, '--peer-client-cert-auth',
    '--heartbeat-interval', '100', '--election-timeout', '1000',
    '--logger', 'zap', '--log-outputs', 'stderr',
  ];
}

/** True when pid runs etcd on our data directory. */
async function isOurEtcd(pid: number, dataDir: string): Promise<boolean> {
  const argv = await pidCmdline(pid);
  return !!argv && argv.includes('--data-dir') && argv[argv.indexOf('--data-dir') + 1] === dataDir;
}

/** The pid of our running member, if any. */
export async function etcdMemberPid(spec: Pick<EtcdMemberSpec, 'pidPath' | 'dataDir'>): Promise<number | undefined> {
  const pid = await readPidfile(spec.pidPath);
  return pid !== undefined && (await pidAlive(pid)) && (await isOurEtcd(pid, spec.dataDir)) ? pid : undefined;
}

/** True when the member at `url` answers /health with health true. */
export function etcdHealthy(url: string, tls: { ca: Buffer; cert: Buffer; key: Buffer }, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(`${url}/health`, { ...tls, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(res.statusCode === 200 && /"health":\s*"true"/.test(body)));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** True once etcd's log says, after byte `from`, that it serves clients on `address:port`. */
async function readyInLog(logPath: string, from: number, address: string, port: number): Promise<boolean> {
  const text = await readFile(logPath).then((b) => b.subarray(from).toString('utf8'), () => '');
  const where = `"address":"${address}:${port}"`;
  return text.split('\n').some((l) => l.includes('"msg":"serving client traffic') && l.includes(where));
}

/** Starts our member unless it runs, then waits until it reports healthy; returns its pid. */
export async function ensureEtcdMember(spec: EtcdMemberSpec, tls: { ca: Buffer; cert: Buffer; key: Buffer }, readyTimeoutMs = 20_000): Promise<number> {
  let pid = await etcdMemberPid(spec);
  const logStart = await stat(spec.logPath).then((s) => s.size, () => 0);
  const started = pid === undefined;
  if (pid === undefined) {
    await mkdir(spec.dataDir, { recursive: true, mode: 0o700 });
    const argv = spec.netns ? nsenterArgv(spec.netns, etcdArgv(spec)) : etcdArgv(spec);
    pid = await startDetached(argv, { logPath: spec.logPath });
    await writePidfile(spec.pidPath, pid);
  }
  const url = clientUrl('127.0.0.1', spec.clientPort);
  const ready = (): Promise<boolean> => (spec.netns ? (started ? readyInLog(spec.logPath, logStart, spec.address, spec.clientPort ?? ETCD_CLIENT_PORT) : Promise.resolve(true)) : etcdHealthy(url, tls));
  const deadline = Date.now() + readyTimeoutMs;
  while (!(await ready())) {
    if (!(await pidAlive(pid))) throw new Error(`etcd member ${spec.name} exited at start (see ${spec.logPath})`);
    if (Date.now() > deadline) throw new Error(`etcd member ${spec.name} not healthy within ${readyTimeoutMs} ms (see ${spec.logPath})`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return pid;
}

/** Stops our member if it runs. */
export async function stopEtcdMember(spec: Pick<EtcdMemberSpec, 'pidPath' | 'dataDir'>): Promise<void> {
  const pid = await etcdMemberPid(spec);
  if (pid !== undefined) await stopPid(pid, { graceMs: 5_000 });
}
