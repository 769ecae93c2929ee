/**
 * The node list of a swarm as `docker node ls/inspect/rm` read it: every node record with its
 * liveness (lease key), its etcd membership and leadership, filtered and looked up as dockerd does.
 *
 * Use: `nodeViews(store, caPem, port)`, then `filterNodes(all, filters)` or `findNode(all, ref)`;
 * `managerCounts(store)` and `clusterRecord(store)` for the membership checks and the swarm record.
 *
 * Beware: a manager that is not (or no longer) an etcd member still shows as an unreachable manager.
 */
import type { EtcdClusterStore } from './etcd-store.js';
import * as E from './swarm-errors.js';
import { SWARM_KEYS, nodeView, type ClusterRecord, type NodeRecord } from './swarm-records.js';
import { clusterKeys, type ClusterStore } from './store.js';

export interface NodeEntry {
  rec: NodeRecord;
  view: Record<string, unknown>;
}

export async function nodeViews(store: EtcdClusterStore, caPem: string, port: number): Promise<NodeEntry[]> {
  const [{ items }, aliveList, members, leader] = await Promise.all([
    store.list(clusterKeys.nodes),
    store.list(clusterKeys.alive),
    store.members(),
    store.leaderId().catch(() => ''),
  ]);
  const alive = new Set(aliveList.items.map((i) => i.key.slice(clusterKeys.alive.length)));
  return items.map((i) => {
    const rec = JSON.parse(i.value) as NodeRecord;
    const member = members.find((m) => m.name === rec.id);
    const manager = member ? { leader: member.id === leader, reachable: alive.has(rec.id) } : undefined;
    return { rec, view: nodeView(rec, i.modRevision, alive.has(rec.id), manager ?? (rec.role === 'manager' ? { leader: false, reachable: false } : undefined), caPem, port) };
  });
}

/** GET /nodes filters: id (prefix), name (substring of the hostname), role. */
export function filterNodes(all: readonly NodeEntry[], filters: Record<string, string[]>): Record<string, unknown>[] {
  return all
    .filter(({ rec }) => !filters.id?.length || filters.id.some((f) => rec.id.startsWith(f)))
    .filter(({ rec }) => !filters.name?.length || filters.name.some((f) => rec.hostname.includes(f)))
    .filter(({ rec }) => !filters.role?.length || filters.role.includes(rec.role))
    .map(({ view }) => view);
}

/** A node by full id, hostname, or unique id prefix; Docker's errors otherwise. */
export function findNode(all: readonly NodeEntry[], ref: string): NodeEntry {
  const exact = all.find((n) => n.rec.id === ref) ?? all.find((n) => n.rec.hostname === ref);
  if (exact) return exact;
  const prefixed = all.filter((n) => n.rec.id.startsWith(ref));
  if (prefixed.length === 1 && prefixed[0]) return prefixed[0];
  if (prefixed.length > 1) throw E.nodeAmbiguous(ref, prefixed.length);
  throw E.nodeNotFound(ref);
}

/** Managers by id, and the nodes whose liveness lease is alive. */
export async function managerCounts(store: ClusterStore): Promise<{ managers: string[]; alive: Set<string> }> {
  const nodes = (await store.list(clusterKeys.nodes)).items.map((i) => JSON.parse(i.value) as NodeRecord);
  const alive = new Set((await store.list(clusterKeys.alive)).items.map((i) => i.key.slice(clusterKeys.alive.length)));
  return { managers: nodes.filter((n) => n.role === 'manager').map((n) => n.id), alive };
}

/** The swarm's record and its version (the store revision `update` must name). */
export async function clusterRecord(store: ClusterStore): Promise<{ record: ClusterRecord; version: number }> {
  const v = await store.get(SWARM_KEYS.cluster);
  if (!v) throw E.notManager();
  return { record: JSON.parse(v.value) as ClusterRecord, version: v.modRevision };
}
