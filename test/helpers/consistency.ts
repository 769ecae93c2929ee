/**
 * Does the API agree with the kernel? Asks the sandbox's daemon for its doctor's findings
 * (`GET /redes/doctor`, src/audit/doctor.ts: namespaces, interfaces and addresses, bridges, veths,
 * address allocations, nftables sets and chains, cgroups, rootfs mounts, shims, runc containers,
 * directories, DNS names) and returns them one line each ([] = consistent).
 *
 * Use: `assert.deepEqual(await differences(sb), [])` after crashes, races and fuzzing;
 * `await repair(sb)` is `redes doctor --repair`.
 */
import { apiRequest } from './engine-api.js';
import type { Sandbox } from './sandbox.js';

interface Row {
  Kind: string;
  Object: string;
  Problem: string;
  Repair: string;
}

const line = (r: Row): string => `${r.Kind} ${r.Object}: ${r.Problem}`;

export async function differences(sb: Sandbox): Promise<string[]> {
  const r = await apiRequest(sb.socket, 'GET', '/v1.50/redes/doctor', { timeoutMs: 120_000 });
  if (r.status !== 200) throw new Error(`GET /redes/doctor: ${r.status} ${r.body}`);
  return r.json<{ Differences: Row[] }>().Differences.map(line);
}

export async function repair(sb: Sandbox): Promise<{ repaired: string[]; remaining: string[] }> {
  const r = await apiRequest(sb.socket, 'POST', '/v1.50/redes/doctor/repair', { timeoutMs: 120_000 });
  if (r.status !== 200) throw new Error(`POST /redes/doctor/repair: ${r.status} ${r.body}`);
  const j = r.json<{ Repaired: Row[]; Failed: Array<Row & { Error: string }>; Differences: Row[] }>();
  return { repaired: [...j.Repaired.map(line), ...j.Failed.map((f) => `FAILED ${line(f)}: ${f.Error}`)], remaining: j.Differences.map(line) };
}
