/**
 * Host-side helpers of the bridge driver that port publishing needs: hairpin mode on a container's
 * bridge port, and the host's ephemeral port range (where random published ports come from).
 *
 * Beware: both act in the daemon's own network namespace (its sandbox host), as the rest of the driver.
 */
import { ipBatch, sysctlRead } from '../../kernel/index.js';

/**
 * Lets frames leave by the bridge port they came in on, so a container reaches itself through its
 * own published port (the packet is DNATed back to it). Safe to repeat.
 */
export async function enableHairpin(hostIfnames: readonly string[]): Promise<void> {
  await ipBatch(hostIfnames.map((i) => ['link', 'set', 'dev', i, 'type', 'bridge_slave', 'hairpin', 'on']));
}

/** /proc/sys/net/ipv4/ip_local_port_range of this namespace ("32768\t60999"), as [first, last]. */
export async function localPortRange(): Promise<[number, number]> {
  const text = await sysctlRead('net/ipv4/ip_local_port_range');
  const [a, b] = text.split(/\s+/).map(Number);
  if (!a || !b || a > b) throw new Error(`ip_local_port_range: unexpected value ${JSON.stringify(text)}`);
  return [a, b];
}
