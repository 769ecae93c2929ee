/**
 * Positive reachability for tests: ask again once a second until an answer, for a bounded time.
 *
 * A single probe is not enough to say a peer is reachable on a loaded machine: one ARP request,
 * neighbour solicitation, echo or TCP SYN lost on the way (the per-CPU input backlog every namespace
 * shares drops thousands of packets a second when others flood it) or one second without the CPU
 * fails it, and the kernel resends a lost ARP request only after a second, when a `ping -c 1 -W 1`
 * has already given up. Checks that a peer must stay unreachable keep their single probe: asking a
 * negative again only makes it slower, not more correct.
 *
 * Use:
 *   const ping = async (ns: string, to: string): Promise<boolean> =>
 *     (await run(nsenterArgv(ns, ['busybox', 'ping', '-c', '1', '-W', '1', to]), { allowFailure: true })).code === 0;
 *   assert.ok(await answersWithin(() => ping(c1, '10.0.0.3')), 'c1 -> c2');
 *   assert.equal(await ping(c1, '10.0.0.99'), false);
 *   assert.ok(await containerReaches(sb, 'alpha', '10.1.1.1'), 'a → b');   // docker exec alpha ping ...
 */
import { answersWithin } from '../../src/util/index.js';
import type { Lab } from './lab.js';
import type { Sandbox } from './sandbox.js';

export { answersWithin };

/**
 * Whether container `from` gets an echo reply from `to` (an address or a name it resolves) within
 * `withinMs`: `docker exec FROM ping -c1 -W1 TO`, asked once a second.
 */
export function containerReaches(sb: Pick<Sandbox, 'docker'>, from: string, to: string, opts: { family?: '-4' | '-6'; withinMs?: number } = {}): Promise<boolean> {
  const argv = ['exec', from, 'ping', ...(opts.family ? [opts.family] : []), '-c1', '-W1', to];
  return answersWithin(async () => (await sb.docker(argv, { allowFail: true, timeoutMs: 15_000 })).code === 0, opts.withinMs);
}

/** Host `h` (1-based) of a lab, as containerReaches wants it: docker through that host's context. */
export function onHost(lab: Pick<Lab, 'context'>, h: number): Pick<Sandbox, 'docker'> {
  return { docker: (args, opts) => lab.context(h, args, opts) };
}
