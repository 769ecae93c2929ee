/**
 * Non-Docker routes of redes for its firewall: `POST /redes/firewall/reload` re-applies the whole
 * ruleset from the daemon's state in one transaction (after someone flushed or edited our table),
 * and answers with what it programmed. `redes firewall reload` calls it.
 */
import type { Router } from '../router.js';
import { sendJson } from '../body.js';

export interface FirewallRoutesDeps {
  /** Re-applies everything; resolves once the kernel has it. */
  reload(): Promise<void>;
  /** Counts for the answer. */
  summary(): { networks: number; ports: number };
  /** false for an `--iptables=false` daemon, which programs nothing. */
  enabled: boolean;
}

export function firewallRoutes(router: Router, deps: FirewallRoutesDeps): void {
  router.on('POST', '/redes/firewall/reload', async ({ res }) => {
    const t0 = performance.now();
    await deps.reload();
    const ms = Math.round((performance.now() - t0) * 10) / 10;
    sendJson(res, 200, { Enabled: deps.enabled, ...capitalise(deps.summary()), Milliseconds: ms });
  });
}

function capitalise(s: { networks: number; ports: number }): { Networks: number; Ports: number } {
  return { Networks: s.networks, Ports: s.ports };
}
