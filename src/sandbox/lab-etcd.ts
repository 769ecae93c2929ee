/**
 * A lab's own etcd (`redes lab up --etcd`): one member in the lab's LAN namespace at
 * https://198.51.100.1:2379, with a CA and certificates of its own, that every host's redesd uses as
 * an existing cluster store (`--cluster-store etcd://198.51.100.1:2379/<lab> --cluster-advertise
 * <host's LAN address>` and the TLS files), as a user who already runs etcd would, without the swarm
 * flow.
 *   /run/redes-lab/L/etcd/   data/, pki/ (ca.crt, server.{crt,key}, client.{crt,key}), etcd.pid, etcd.log
 *
 * Use: `const store = await ensureLabEtcd(name, dir, lanNetns)` before the hosts start, then
 * `clusterStoreArgs(store, host.lanAddr)` as each host's daemon flags; `stopLabEtcd(dir)` at down.
 *
 * Beware: the certificates are made once per lab and kept across `up` (a repair keeps the running
 * member and its data); the client key is shared by the lab's engines (one trust domain).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ETCD_CLIENT_PORT, ensureEtcdMember, makeCa, makeKeyAndCsr, peerUrl, signCsr, stopEtcdMember } from '../runtime/index.js';
import { LAN_ADDR } from './layout.js';

export interface LabEtcd {
  /** The --cluster-store URL (cluster id: the lab's name). */
  url: string;
  ca: string;
  cert: string;
  key: string;
}

interface LabEtcdPaths {
  dir: string;
  data: string;
  pki: string;
  pid: string;
  log: string;
}

const pathsOf = (labDir: string): LabEtcdPaths => {
  const dir = join(labDir, 'etcd');
  return { dir, data: join(dir, 'data'), pki: join(dir, 'pki'), pid: join(dir, 'etcd.pid'), log: join(dir, 'etcd.log') };
};

const exists = (path: string): Promise<boolean> => readFile(path).then(() => true, () => false);

/** The lab's CA, the member's server certificate and the engines' client certificate (made once). */
async function ensurePki(name: string, pki: string): Promise<void> {
  if (await exists(join(pki, 'client.key'))) return;
  await mkdir(pki, { recursive: true, mode: 0o700 });
  const ca = await makeCa(`redes-lab-${name}-etcd-ca`);
  const server = await makeKeyAndCsr('etcd', 'lab-etcd');
  const client = await makeKeyAndCsr('engines', 'lab-engines');
  await writeFile(join(pki, 'ca.crt'), ca.certPem);
  await writeFile(join(pki, 'server.key'), server.keyPem, { mode: 0o600 });
  await writeFile(join(pki, 'server.crt'), await signCsr(ca, server.csrPem, { commonName: 'etcd', unit: 'lab-etcd', ips: [LAN_ADDR] }));
  await writeFile(join(pki, 'client.crt'), await signCsr(ca, client.csrPem, { commonName: 'engines', unit: 'lab-engines', ips: [] }));
  // Written last: its presence says the set is complete.
  await writeFile(join(pki, 'client.key'), client.keyPem, { mode: 0o600 });
}

/** Starts the lab's etcd member unless it runs, and waits until it serves clients. */
export async function ensureLabEtcd(name: string, labDir: string, lanNetns: string): Promise<LabEtcd> {
  const p = pathsOf(labDir);
  await mkdir(p.dir, { recursive: true, mode: 0o700 });
  await ensurePki(name, p.pki);
  const files = { ca: join(p.pki, 'ca.crt'), cert: join(p.pki, 'server.crt'), key: join(p.pki, 'server.key') };
  const tls = { ca: await readFile(files.ca), cert: await readFile(files.cert), key: await readFile(files.key) };
  await ensureEtcdMember(
    {
      name: 'etcd',
      dataDir: p.data,
      address: LAN_ADDR,
      initialCluster: `etcd=${peerUrl(LAN_ADDR)}`,
      state: 'new',
      clusterToken: `redes-lab-${name}`,
      tls: files,
      pidPath: p.pid,
      logPath: p.log,
      netns: lanNetns,
    },
    tls,
    30_000,
  );
  return { url: `etcd://${LAN_ADDR}:${ETCD_CLIENT_PORT}/${name}`, ca: files.ca, cert: join(p.pki, 'client.crt'), key: join(p.pki, 'client.key') };
}

/** The redesd flags that make a host use the lab's etcd, advertising `advertise`. */
export function clusterStoreArgs(store: LabEtcd, advertise: string): string[] {
  return [
    `--cluster-store=${store.url}`,
    `--cluster-advertise=${advertise}`,
    `--cluster-store-opt=kv.cacertfile=${store.ca}`,
    `--cluster-store-opt=kv.certfile=${store.cert}`,
    `--cluster-store-opt=kv.keyfile=${store.key}`,
  ];
}

/** Stops the lab's etcd member if it runs (its files go with the lab's directory). */
export async function stopLabEtcd(labDir: string): Promise<void> {
  const p = pathsOf(labDir);
  await stopEtcdMember({ pidPath: p.pid, dataDir: p.data });
}
