/**
 * The networks every engine has from its first start, as Docker makes them: `bridge` (the default
 * bridge, `docker0`), `host` and `none`. The engine creates the missing ones and, at every start,
 * re-applies their options from the daemon's flags (the default bridge's ICC follows `--icc`).
 *
 * Use: `new NetworkController({ ..., predefined: predefinedNetworks({ bip, icc }) })` in redesd.
 */
import { OPT, defaultBridgeShownOptions } from './bridge/options.js';

/** The driver of a `docker network create` that names none. */
export const DEFAULT_DRIVER = 'bridge';

/** One predefined network: what a create request would give. */
export interface PredefinedNetwork {
  name: string;
  driver: string;
  options: Record<string, string>;
  /** The network's one IPv4 pool; none for host and none. */
  ipv4?: { subnet: string; gateway: string };
}

export function predefinedNetworks(daemon: { bip?: { subnet: string; gateway: string }; icc: boolean }): PredefinedNetwork[] {
  return [
    {
      name: 'bridge',
      driver: 'bridge',
      options: { ...defaultBridgeShownOptions(), [OPT.icc]: String(daemon.icc) },
      ipv4: daemon.bip ?? { subnet: '172.17.0.0/16', gateway: '172.17.0.1' },
    },
    { name: 'host', driver: 'host', options: {} },
    { name: 'none', driver: 'null', options: {} },
  ];
}
