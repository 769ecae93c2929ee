/**
 * Non-Docker routes of redes for its consistency checker (`redes doctor`):
 * - `GET /redes/doctor` lists every difference between the daemon's state and the kernel;
 * - `POST /redes/doctor/repair` fixes the safe ones and answers what it did and what remains.
 * Each difference is `{Kind, Object, Problem, Repair}` (Repair: the action, or "" when only reported).
 * A 409 says the engine stayed busy for the whole wait (run it again on a quieter daemon).
 */
import type { Difference, RepairReport } from '../../audit/index.js';
import { sendJson } from '../body.js';
import type { Router } from '../router.js';

export interface DoctorRoutesDeps {
  check(): Promise<Difference[]>;
  repair(): Promise<RepairReport>;
}

const view = (d: Difference): Record<string, string> => ({ Kind: d.kind, Object: d.object, Problem: d.problem, Repair: d.repair?.action ?? '' });

export function doctorRoutes(router: Router, deps: DoctorRoutesDeps): void {
  router.on('GET', '/redes/doctor', async ({ res }) => {
    sendJson(res, 200, { Differences: (await deps.check()).map(view) });
  });
  router.on('POST', '/redes/doctor/repair', async ({ res }) => {
    const r = await deps.repair();
    sendJson(res, 200, {
      Repaired: r.repaired.map(view),
      Failed: r.failed.map((f) => ({ ...view(f.difference), Error: f.error })),
      Differences: r.remaining.map(view),
    });
  });
}
