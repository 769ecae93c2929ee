/**
 * Does the API agree with the kernel? Compares a sandbox's containers and networks as the Engine API
 * lists them with what its host namespace holds: container namespaces, their interfaces and
 * addresses, bridges, host-side veths, rootfs mounts and shim processes; and checks that no address
 * is given twice on a network. Returns every difference found ([] = consistent).
 *
 * Use: `assert.deepEqual(await differences(sb), [])` after crashes, races and fuzzing.
 */
import { readdir } from 'node:fs/promises';
import { netnsList } from '../../src/kernel/netns.js';
import { pidCmdline } from '../../src/kernel/process.js';
import { mountsUnder } from '../../src/kernel/mounts.js';
import { apiRequest } from './engine-api.js';
import { containerNetns, hostVeths, ipIn, v4ByLink } from './containers.js';
import type { Sandbox } from './sandbox.js';

interface ApiContainer {
  Id: string;
  State: { Running: boolean; Status: string };
  HostConfig: { NetworkMode: string };
  NetworkSettings: { Networks: Record<string, { NetworkID: string; IPAddress: string; IPPrefixLen: number; EndpointID: string }> };
}

interface ApiNetwork {
  Id: string;
  Name: string;
  Driver: string;
  Options: Record<string, string>;
}

async function get<T>(sb: Sandbox, path: string): Promise<T> {
  const r = await apiRequest(sb.socket, 'GET', `/v1.50${path}`);
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.body}`);
  return r.json<T>();
}

async function shimsOf(sb: Sandbox): Promise<number> {
  let n = 0;
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const argv = await pidCmdline(Number(d));
    if (argv?.[0]?.endsWith('redes-shim') && argv[1] === 'create' && argv.some((a) => a.startsWith(`/var/lib/redes/${sb.name}/`) || a.startsWith(`/run/redes/${sb.name}/`))) n++;
  }
  return n;
}

export async function differences(sb: Sandbox): Promise<string[]> {
  const diffs: string[] = [];
  const list = await get<Array<{ Id: string }>>(sb, '/containers/json?all=1');
  const containers: ApiContainer[] = [];
  for (const c of list) containers.push(await get<ApiContainer>(sb, `/containers/${c.Id}/json`));
  const networks = await get<ApiNetwork[]>(sb, '/networks');
  const liveNets = new Set(networks.map((n) => n.Id));
  const running = containers.filter((c) => c.State.Running);
  const ownNs = running.filter((c) => !c.HostConfig.NetworkMode.startsWith('container:') && c.HostConfig.NetworkMode !== 'host');

  const wantNs = new Set(ownNs.map((c) => containerNetns(sb, c.Id)));
  const haveNs = new Set((await netnsList()).filter((n) => n.startsWith(`${sb.name}-c-`)));
  for (const n of haveNs) if (!wantNs.has(n)) diffs.push(`netns ${n}: no running container owns it`);
  for (const n of wantNs) if (!haveNs.has(n)) diffs.push(`netns ${n}: missing for a running container`);

  let endpointsWithInterface = 0;
  const byNetwork = new Map<string, string[]>();
  for (const c of containers) {
    for (const [name, ep] of Object.entries(c.NetworkSettings.Networks)) {
      if (!liveNets.has(ep.NetworkID)) diffs.push(`container ${c.Id.slice(0, 12)}: endpoint on ${name}, a network that does not exist`);
      if (c.State.Running && ep.IPAddress) (byNetwork.get(ep.NetworkID) ?? byNetwork.set(ep.NetworkID, []).get(ep.NetworkID))?.push(ep.IPAddress);
    }
  }
  for (const [net, addrs] of byNetwork) {
    const dup = addrs.filter((a, i) => addrs.indexOf(a) !== i);
    if (dup.length) diffs.push(`network ${net.slice(0, 12)}: address given twice: ${[...new Set(dup)].join(' ')}`);
  }
  for (const c of ownNs) {
    const ns = containerNetns(sb, c.Id);
    if (!haveNs.has(ns)) continue;
    const inside = v4ByLink(await ipIn(ns, ['addr', 'show']).catch(() => []));
    delete inside.lo;
    const have = Object.entries(inside).map(([ifname, a]) => `${ifname.startsWith('eth') ? 'eth' : ifname} ${a.join(',')}`).sort();
    const want = Object.values(c.NetworkSettings.Networks).filter((e) => e.IPAddress).map((e) => `eth ${e.IPAddress}/${e.IPPrefixLen}`).sort();
    endpointsWithInterface += want.length;
    if (JSON.stringify(have) !== JSON.stringify(want)) diffs.push(`container ${c.Id.slice(0, 12)}: kernel has [${have.join('; ')}], API says [${want.join('; ')}]`);
  }

  const bridgeNets = networks.filter((n) => n.Driver === 'bridge');
  const wantBridges = new Set(bridgeNets.map((n) => n.Options['com.docker.network.bridge.name'] ?? `br-${n.Id.slice(0, 12)}`));
  const haveBridges = new Set((await sb.ipJson(['link', 'show', 'type', 'bridge'])).map((l) => l.ifname));
  for (const b of haveBridges) if (!wantBridges.has(b)) diffs.push(`bridge ${b}: no network owns it`);
  for (const b of wantBridges) if (!haveBridges.has(b)) diffs.push(`bridge ${b}: missing for its network`);

  const veths = await hostVeths(sb);
  if (veths.length !== endpointsWithInterface) diffs.push(`host veths: ${veths.length}, endpoints with an interface: ${endpointsWithInterface}`);
  for (const v of veths) if (!v.master) diffs.push(`veth ${v.ifname}: on no bridge`);

  const mounts = await mountsUnder(`/var/lib/redes/${sb.name}/containers`);
  const rootfs = mounts.filter((m) => m.endsWith('/rootfs'));
  if (rootfs.length !== running.length) diffs.push(`rootfs mounts: ${rootfs.length}, running containers: ${running.length}`);
  const shims = await shimsOf(sb);
  if (shims !== running.length) diffs.push(`container shims: ${shims}, running containers: ${running.length}`);
  const dirs = await readdir(`/var/lib/redes/${sb.name}/containers`).catch(() => [] as string[]);
  const ids = new Set(containers.map((c) => c.Id));
  for (const d of dirs) if (!ids.has(d)) diffs.push(`container directory ${d.slice(0, 12)}: no container owns it`);
  return diffs;
}
