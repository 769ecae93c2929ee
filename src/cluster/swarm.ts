/**
 * Swarm membership of one engine: `init` (new cluster: CA, first etcd member, tokens), `join` (over
 * the manager's TLS join endpoint; a manager becomes an etcd member, a worker an etcd client),
 * `leave`, token rotation, and the node list; restores itself at engine start. The cluster store it
 * opens is handed to whoever listens (`onStore`), which is how the overlay driver finds it.
 *
 * Use: `const swarm = new SwarmController(deps); await swarm.start();` then the API calls `init`,
 * `join`, `leave`, `inspect`, `update`, `nodes`, `node`, `removeNode`, `info`.
 *
 * Beware:
 * - Certificates and keys live under `dataDir` (ca.crt, ca.key on managers, node.crt, node.key) and
 *   etcd's data in `dataDir/etcd`; `leave` removes the whole directory.
 * - Adding an etcd member makes the cluster wait for it (quorum counts it at once): the joiner starts
 *   its member right after the manager's answer.
 * - Membership changes are serialised (`serial`); reads are not.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { arch, cpus, totalmem } from 'node:os';
import { join as joinPath } from 'node:path';
import { invalidParameter, notImplemented, conflict, logger } from '../util/index.js';
import { tryParseAddress } from '../ipam/index.js';
import { describeCert, makeCa, makeKeyAndCsr, signCsr, signedBy, type CaMaterial, clientUrl, ensureEtcdMember, peerUrl, stopEtcdMember, type EtcdMemberSpec } from '../runtime/index.js';
import { openEtcdClusterStore, type EtcdClusterStore } from './etcd-store.js';
import { SWARM_PORT, fetchRemoteCa, requestJoin, startJoinServer, type JoinRequest, type JoinResponse, type JoinServer } from './join-service.js';
import { addressToward, chooseAdvertiseAddr, localInterfaces, splitHostPort, type LocalAddress } from './swarm-address.js';
import * as E from './swarm-errors.js';
import { SWARM_KEYS, defaultSpec, swarmInfoView, swarmView, type ClusterRecord, type NodeRecord, type SwarmLocalState, type SwarmRole, type TokenRecord } from './swarm-records.js';
import { clusterKeys, type ClusterAccess, type ClusterStore } from './store.js';
import { caDigest, newSecret, newSwarmId, parseJoinToken, secretMatches } from './token.js';
import { clusterRecord, filterNodes, findNode, managerCounts, nodeViews, type NodeEntry } from './swarm-nodes.js';
import { addMemberWhenReady, base36ToHex, bounded, checkAvailability } from './swarm-helpers.js';

const log = logger.child({ component: 'swarm' });

export interface SwarmDeps {
  /** Directory for certificates, keys and etcd data (e.g. <data-root>/swarm). */
  dataDir: string;
  /** Directory for etcd's pidfile and log. */
  execRoot: string;
  hostname: string;
  engineVersion: string;
  load(): SwarmLocalState | undefined;
  save(s: SwarmLocalState | undefined): void;
  /** The host's candidate addresses (default: its interfaces). */
  locals?: () => LocalAddress[];
  /** Liveness lease TTL in seconds (default 6). */
  leaseTtl?: number;
}

/** The body of POST /swarm/init (Docker's SwarmInitRequest). */
export interface SwarmInitRequest {
  ListenAddr?: string;
  AdvertiseAddr?: string;
  DataPathAddr?: string;
  DataPathPort?: number;
  DefaultAddrPool?: string[] | null;
  SubnetSize?: number;
  ForceNewCluster?: boolean;
  Spec?: Record<string, unknown>;
  AutoLockManagers?: boolean;
  Availability?: string;
}

/** The body of POST /swarm/join. */
export interface SwarmJoinRequest {
  ListenAddr?: string;
  AdvertiseAddr?: string;
  DataPathAddr?: string;
  RemoteAddrs?: string[];
  JoinToken?: string;
  Availability?: string;
}

interface Files {
  ca: string;
  caKey: string;
  cert: string;
  key: string;
}

export class SwarmController implements ClusterAccess {
  private state: SwarmLocalState | undefined;
  private etcd: EtcdClusterStore | undefined;
  private joinServer: JoinServer | undefined;
  private serialChain: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<(s: ClusterStore | undefined) => void>();
  private retry: NodeJS.Timeout | undefined;
  private connecting = false;
  private readonly files: Files;

  constructor(private readonly deps: SwarmDeps) {
    const f = (n: string): string => joinPath(deps.dataDir, n);
    this.files = { ca: f('ca.crt'), caKey: f('ca.key'), cert: f('node.crt'), key: f('node.key') };
  }

  /** The cluster store while this engine is in a swarm. */
  get store(): ClusterStore | undefined {
    return this.etcd;
  }

  get local(): SwarmLocalState | undefined {
    return this.state;
  }

  /** Calls fn now and whenever the store appears or goes; returns the unsubscribe. */
  onStore(fn: (s: ClusterStore | undefined) => void): () => void {
    this.listeners.add(fn);
    fn(this.etcd);
    return () => this.listeners.delete(fn);
  }

  private setStore(s: EtcdClusterStore | undefined): void {
    this.etcd = s;
    for (const fn of this.listeners) fn(s);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.serialChain.then(fn, fn);
    this.serialChain = next.catch(() => undefined);
    return next;
  }

  private locals(): LocalAddress[] {
    return (this.deps.locals ?? localInterfaces)();
  }

  private etcdSpec(s: SwarmLocalState, initialCluster: string, state: 'new' | 'existing'): EtcdMemberSpec {
    return {
      name: s.nodeId,
      dataDir: joinPath(this.deps.dataDir, 'etcd'),
      address: s.advertiseAddr,
      initialCluster,
      state,
      clusterToken: s.clusterId,
      tls: { ca: this.files.ca, cert: this.files.cert, key: this.files.key },
      pidPath: joinPath(this.deps.execRoot, 'etcd.pid'),
      logPath: joinPath(this.deps.execRoot, 'etcd.log'),
    };
  }

  private async tls(): Promise<{ ca: Buffer; cert: Buffer; key: Buffer }> {
    const [ca, cert, key] = await Promise.all([readFile(this.files.ca), readFile(this.files.cert), readFile(this.files.key)]);
    return { ca, cert, key };
  }

  private async ca(): Promise<CaMaterial> {
    return { certPem: await readFile(this.files.ca, 'utf8'), keyPem: await readFile(this.files.caKey, 'utf8') };
  }

  private async writeFiles(caPem: string, certPem: string, keyPem: string, caKeyPem?: string): Promise<void> {
    await mkdir(this.deps.dataDir, { recursive: true, mode: 0o700 });
    await writeFile(this.files.ca, caPem);
    await writeFile(this.files.cert, certPem);
    await writeFile(this.files.key, keyPem, { mode: 0o600 });
    if (caKeyPem) await writeFile(this.files.caKey, caKeyPem, { mode: 0o600 });
  }

  /**
   * Restores membership after an engine restart. Returns at once: etcd and the store come up in the
   * background (a member waits for its quorum), retried every 3 s; `onStore` tells when it is there.
   */
  start(): void {
    this.state = this.deps.load();
    const s = this.state;
    if (!s) return;
    const attempt = (): void => {
      if (this.state !== s || this.etcd || this.connecting) return;
      this.connecting = true;
      this.connect(s)
        .then(() => clearInterval(this.retry), (e: unknown) => log.warn({ err: (e as Error).message }, 'cluster store not reachable yet; retrying'))
        .finally(() => (this.connecting = false));
    };
    this.retry = setInterval(attempt, 3000);
    attempt();
  }

  /** Brings up what a member runs (etcd for managers), opens the store, publishes the node. */
  private async connect(s: SwarmLocalState, initialCluster?: string): Promise<void> {
    const tls = await this.tls();
    if (s.role === 'manager') {
      const spec = this.etcdSpec(s, initialCluster ?? `${s.nodeId}=${peerUrl(s.advertiseAddr)}`, initialCluster ? 'existing' : 'new');
      await ensureEtcdMember(spec, tls);
    }
    const endpoints = s.role === 'manager' ? [...new Set([clientUrl(s.advertiseAddr), ...s.etcdEndpoints])] : s.etcdEndpoints;
    const store = await openEtcdClusterStore({ endpoints, tls, clusterId: s.clusterId, nodeId: s.nodeId, leaseTtl: this.deps.leaseTtl, onEndpoints: (urls) => {
      // The members' client URLs, kept for the next start (the member joined through may be gone by then).
      if (this.state && this.state.etcdEndpoints.join() !== urls.join()) this.deps.save((this.state = { ...this.state, etcdEndpoints: urls }));
    } });
    try {
      await this.publishNode(store, s);
      if (s.role === 'manager') await this.startJoinServer(s, tls);
    } catch (e) {
      await store.close();
      throw e;
    }
    this.setStore(store);
  }

  private async publishNode(store: EtcdClusterStore, s: SwarmLocalState): Promise<void> {
    const prior = await store.get(clusterKeys.node(s.nodeId));
    const now = new Date().toISOString();
    const old = prior ? (JSON.parse(prior.value) as NodeRecord) : undefined;
    const rec: NodeRecord = {
      id: s.nodeId,
      hostname: this.deps.hostname,
      role: s.role,
      addr: s.advertiseAddr,
      dataAddr: old?.dataAddr ?? s.advertiseAddr,
      availability: 'active',
      engineVersion: this.deps.engineVersion,
      createdAt: old?.createdAt ?? now,
      updatedAt: now,
      arch: arch() === 'x64' ? 'x86_64' : arch(),
      os: 'linux',
      nanoCpus: cpus().length * 1e9,
      memoryBytes: totalmem(),
    };
    await store.put(clusterKeys.node(s.nodeId), JSON.stringify(rec));
    await store.put(clusterKeys.aliveNode(s.nodeId), now, { lease: true });
  }

  private async startJoinServer(s: SwarmLocalState, tls: { ca: Buffer; cert: Buffer; key: Buffer }): Promise<void> {
    const { host, port } = splitHostPort(s.listenAddr, SWARM_PORT);
    this.joinServer = await startJoinServer({
      address: host || '0.0.0.0',
      port,
      tls: { caPem: tls.ca.toString(), certPem: tls.cert.toString(), keyPem: tls.key.toString() },
      join: (req) => this.admit(req),
    });
  }

  async init(req: SwarmInitRequest): Promise<string> {
    return this.serial(async () => {
      if (this.state) throw E.alreadyInSwarm();
      if (req.ForceNewCluster) throw notImplemented('swarm.force_new_cluster', 'redes does not support --force-new-cluster: restore the etcd members instead');
      if (req.AutoLockManagers) throw notImplemented('swarm.autolock', 'redes does not support --autolock: its managers keep the CA key on disk, unencrypted');
      checkAvailability(req.Availability);
      const advertiseAddr = chooseAdvertiseAddr(req.AdvertiseAddr || req.ListenAddr || '', this.locals());
      const dataAddr = req.DataPathAddr ? chooseAdvertiseAddr(req.DataPathAddr, this.locals()) : advertiseAddr;
      const { port } = splitHostPort(req.ListenAddr || `0.0.0.0:${SWARM_PORT}`, SWARM_PORT);
      const s: SwarmLocalState = {
        clusterId: newSwarmId(),
        nodeId: newSwarmId(),
        role: 'manager',
        advertiseAddr,
        listenAddr: `0.0.0.0:${port}`,
        etcdEndpoints: [clientUrl(advertiseAddr)],
      };
      try {
        const ca = await makeCa('swarm-ca');
        const kc = await makeKeyAndCsr(s.nodeId, 'swarm-manager');
        const cert = await signCsr(ca, kc.csrPem, { commonName: s.nodeId, unit: 'swarm-manager', ips: [advertiseAddr] });
        await this.writeFiles(ca.certPem, cert, kc.keyPem, ca.keyPem);
        await this.connect(s);
        const store = this.etcd as EtcdClusterStore;
        const now = new Date().toISOString();
        const cluster: ClusterRecord = {
          id: s.clusterId,
          createdAt: now,
          updatedAt: now,
          spec: defaultSpec(req.Spec),
          defaultAddrPool: req.DefaultAddrPool?.length ? req.DefaultAddrPool : ['10.0.0.0/8'],
          subnetSize: req.SubnetSize || 24,
          dataPathPort: req.DataPathPort || 4789,
          caPem: ca.certPem,
        };
        await store.put(SWARM_KEYS.cluster, JSON.stringify(cluster));
        await store.put(SWARM_KEYS.tokens, JSON.stringify({ worker: newSecret(), manager: newSecret() } satisfies TokenRecord));
        if (dataAddr !== advertiseAddr) await this.setDataAddr(store, s.nodeId, dataAddr);
      } catch (e) {
        await this.teardown(s).catch(() => undefined);
        throw e;
      }
      this.state = s;
      this.deps.save(s);
      log.info({ nodeId: s.nodeId, clusterId: s.clusterId, advertiseAddr }, 'swarm initialized');
      return s.nodeId;
    });
  }

  private async setDataAddr(store: ClusterStore, nodeId: string, dataAddr: string): Promise<void> {
    const cur = await store.get(clusterKeys.node(nodeId));
    if (cur) await store.put(clusterKeys.node(nodeId), JSON.stringify({ ...(JSON.parse(cur.value) as NodeRecord), dataAddr }));
  }

  async join(req: SwarmJoinRequest): Promise<void> {
    return this.serial(async () => {
      if (this.state) throw E.alreadyInSwarm();
      checkAvailability(req.Availability);
      const remote = req.RemoteAddrs?.[0];
      if (!remote) throw invalidParameter('swarm.join_remote', 'at least 1 RemoteAddr is required to join');
      const token = parseJoinToken(req.JoinToken ?? '');
      if (!token) throw E.invalidToken();
      const { host, port } = splitHostPort(remote, SWARM_PORT);
      if (!tryParseAddress(host)) throw invalidParameter('swarm.join_remote', `invalid remote address "${remote}": want IP:PORT`);
      const caPem = await fetchRemoteCa(host, port);
      if (caDigest(caPem) !== token.digest) throw E.caMismatch(base36ToHex(token.digest));
      const advertiseAddr = req.AdvertiseAddr ? chooseAdvertiseAddr(req.AdvertiseAddr, this.locals()) : addressToward(host, this.locals());
      const dataAddr = req.DataPathAddr ? chooseAdvertiseAddr(req.DataPathAddr, this.locals()) : advertiseAddr;
      const kc = await makeKeyAndCsr('joining', 'swarm-node');
      const answer = await requestJoin(host, port, caPem, { token: req.JoinToken ?? '', csrPem: kc.csrPem, hostname: this.deps.hostname, advertiseAddr });
      if (!signedBy(answer.certPem, caPem)) throw invalidParameter('swarm.join_cert', 'the manager answered with a certificate its CA did not sign');
      const { port: listenPort } = splitHostPort(req.ListenAddr || `0.0.0.0:${SWARM_PORT}`, SWARM_PORT);
      const s: SwarmLocalState = {
        clusterId: answer.clusterId,
        nodeId: answer.nodeId,
        role: answer.role,
        advertiseAddr,
        listenAddr: `0.0.0.0:${listenPort}`,
        etcdEndpoints: answer.etcdEndpoints,
      };
      try {
        await this.writeFiles(caPem, answer.certPem, kc.keyPem, answer.caKeyPem);
        await this.connect(s, answer.initialCluster);
        if (dataAddr !== advertiseAddr) await this.setDataAddr(this.etcd as EtcdClusterStore, s.nodeId, dataAddr);
      } catch (e) {
        await this.teardown(s).catch(() => undefined);
        throw e;
      }
      this.state = s;
      this.deps.save(s);
      log.info({ nodeId: s.nodeId, role: s.role, manager: remote }, 'joined swarm');
    });
  }

  /** The manager's side of a join: checks the token, signs the node's certificate, adds an etcd member. */
  private async admit(req: JoinRequest): Promise<JoinResponse> {
    const store = this.etcd;
    const s = this.state;
    if (!store || !s) throw E.notManager();
    const parsed = parseJoinToken(req.token);
    if (!parsed) throw E.invalidToken();
    const ca = await this.ca();
    const tokens = JSON.parse((await store.get(SWARM_KEYS.tokens))?.value ?? '{}') as Partial<TokenRecord>;
    let role: SwarmRole;
    if (parsed.digest !== caDigest(ca.certPem)) throw E.wrongSecret();
    if (tokens.manager && secretMatches(parsed.secret, tokens.manager)) role = 'manager';
    else if (tokens.worker && secretMatches(parsed.secret, tokens.worker)) role = 'worker';
    else throw E.wrongSecret();
    if (!tryParseAddress(req.advertiseAddr)) throw invalidParameter('swarm.join_address', `invalid advertise address "${req.advertiseAddr}"`);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(req.hostname)) throw invalidParameter('swarm.join_hostname', `invalid hostname "${req.hostname}"`);
    const nodeId = newSwarmId();
    const certPem = await signCsr(ca, req.csrPem, { commonName: nodeId, unit: `swarm-${role}`, ips: [req.advertiseAddr] });
    const before = await store.members();
    const etcdEndpoints = [...new Set(before.flatMap((m) => m.clientUrls))];
    if (role === 'worker') return { clusterId: s.clusterId, nodeId, role, certPem, etcdEndpoints };
    const after = await addMemberWhenReady(store, peerUrl(req.advertiseAddr));
    const initialCluster = after
      .map((m) => `${m.name || nodeId}=${m.peerUrls[0] ?? ''}`)
      .join(',');
    log.info({ nodeId, addr: req.advertiseAddr }, 'manager admitted; etcd member added');
    return { clusterId: s.clusterId, nodeId, role, certPem, caKeyPem: ca.keyPem, etcdEndpoints, initialCluster };
  }

  async leave(force: boolean): Promise<void> {
    return this.serial(async () => {
      const s = this.state;
      if (!s) throw E.notInSwarm();
      const store = this.etcd;
      if (s.role === 'manager' && !force) {
        let reachable = 1;
        let unreachable = 0;
        if (store) {
          const { managers, alive } = await managerCounts(store);
          reachable = managers.filter((m) => alive.has(m)).length;
          unreachable = managers.length - reachable;
        }
        throw E.managerLeaveRefused(reachable, unreachable);
      }
      // Best effort, each step bounded: a node leaves even when the cluster has lost its quorum.
      if (store) {
        await bounded(store.delete(clusterKeys.aliveNode(s.nodeId))).catch(() => undefined);
        if (s.role === 'manager') {
          try {
            const members = await bounded(store.members());
            const me = members.find((m) => m.name === s.nodeId);
            if (me && members.length > 1) await bounded(store.removeMember(me.id));
          } catch (e) {
            log.warn({ err: (e as Error).message }, 'could not remove this node from the etcd members');
          }
        }
      }
      await this.teardown(s);
      this.state = undefined;
      this.deps.save(undefined);
      log.info({ nodeId: s.nodeId }, 'left swarm');
    });
  }

  /** Stops what membership runs and removes its files. */
  private async teardown(s: SwarmLocalState): Promise<void> {
    clearInterval(this.retry);
    await this.joinServer?.close();
    this.joinServer = undefined;
    const store = this.etcd;
    this.setStore(undefined);
    await bounded(store?.close() ?? Promise.resolve()).catch(() => undefined);
    await stopEtcdMember(this.etcdSpec(s, '', 'existing'));
    await rm(this.deps.dataDir, { recursive: true, force: true });
  }

  /** Stops the join endpoint and the store client (not etcd: it outlives engine restarts); the lease
   *  runs out rather than being revoked, so a restart within the TTL keeps endpoints and addresses. */
  async close(): Promise<void> {
    clearInterval(this.retry);
    await this.joinServer?.close();
    this.joinServer = undefined;
    const store = this.etcd;
    this.etcd = undefined;
    await store?.close({ keepLease: true }).catch(() => undefined);
  }

  private managerStore(): EtcdClusterStore {
    if (!this.state) throw E.notManager();
    if (this.state.role !== 'manager') throw E.workerNotManager();
    if (!this.etcd) throw E.notManager();
    return this.etcd;
  }

  /** GET /swarm. */
  async inspect(): Promise<Record<string, unknown>> {
    const store = this.managerStore();
    const { record, version } = await clusterRecord(store);
    const tokens = JSON.parse((await store.get(SWARM_KEYS.tokens))?.value ?? '{}') as TokenRecord;
    return swarmView(record, version, tokens);
  }

  /** POST /swarm/update: the spec, and token rotation. */
  async update(version: number, spec: Record<string, unknown> | undefined, rotate: { worker: boolean; manager: boolean }): Promise<void> {
    const store = this.managerStore();
    const { record, version: current } = await clusterRecord(store);
    if (version !== current) throw conflict('swarm.update_sequence', 'rpc error: code = Unknown desc = update out of sequence');
    if (rotate.worker || rotate.manager) {
      const tokens = JSON.parse((await store.get(SWARM_KEYS.tokens))?.value ?? '{}') as TokenRecord;
      await store.put(SWARM_KEYS.tokens, JSON.stringify({ worker: rotate.worker ? newSecret() : tokens.worker, manager: rotate.manager ? newSecret() : tokens.manager }));
    }
    const next: ClusterRecord = { ...record, spec: spec ? defaultSpec(spec) : record.spec, updatedAt: new Date().toISOString() };
    await store.put(SWARM_KEYS.cluster, JSON.stringify(next));
  }

  private async nodeViews(store: EtcdClusterStore): Promise<NodeEntry[]> {
    return nodeViews(store, await readFile(this.files.ca, 'utf8'), splitHostPort(this.state?.listenAddr ?? '', SWARM_PORT).port);
  }

  /** GET /nodes (filters: id, name, role, membership). */
  async nodes(filters: Record<string, string[]> = {}): Promise<Record<string, unknown>[]> {
    return filterNodes(await this.nodeViews(this.managerStore()), filters);
  }

  private async findNode(store: EtcdClusterStore, ref: string): Promise<NodeEntry> {
    return findNode(await this.nodeViews(store), ref);
  }

  /** GET /nodes/{id}. */
  async node(ref: string): Promise<Record<string, unknown>> {
    return (await this.findNode(this.managerStore(), ref)).view;
  }

  /** DELETE /nodes/{id}. */
  async removeNode(ref: string, force: boolean): Promise<void> {
    const store = this.managerStore();
    const { rec, view } = await this.findNode(store, ref);
    const isMember = (await store.members()).some((m) => m.name === rec.id);
    if (rec.role === 'manager' && isMember) throw E.nodeIsManager(rec.id);
    if ((view.Status as { State: string }).State !== 'down' && !force) throw E.nodeNotDown(rec.id);
    await store.delete(clusterKeys.aliveNode(rec.id));
    await store.delete(clusterKeys.node(rec.id));
  }

  /** `docker info`'s Swarm block; never fails (an unreachable store shows as the node's error). */
  async info(): Promise<Record<string, unknown>> {
    const s = this.state;
    const port = splitHostPort(s?.listenAddr ?? '', SWARM_PORT).port;
    if (!s) return swarmInfoView({ state: undefined, port });
    const store = this.etcd;
    if (!store) return swarmInfoView({ state: s, port, error: 'the cluster store is not reachable yet' });
    try {
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the cluster store did not answer within 3 s')), 3000).unref());
      const read = (async () => {
        const nodes = (await store.list(clusterKeys.nodes)).items.map((i) => JSON.parse(i.value) as NodeRecord);
        const cluster = s.role === 'manager' ? await clusterRecord(store) : undefined;
        return swarmInfoView({ state: s, nodes, cluster, port });
      })();
      return await Promise.race([read, timeout]);
    } catch (e) {
      return swarmInfoView({ state: s, port, error: (e as Error).message });
    }
  }

  /** Refuses swarm objects redes does not have (services, tasks, secrets, configs) as Docker's shape. */
  refuseObjects(what: string): never {
    this.managerStore();
    throw E.swarmObjectsUnsupported(what);
  }

  /** Subject of this node's certificate (for tests and logs). */
  async certificate(): Promise<{ commonName: string; unit: string }> {
    return describeCert(await readFile(this.files.cert, 'utf8'));
  }
}
