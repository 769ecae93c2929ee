/**
 * `redes audit` as the e2e tests run it: the CLI against one daemon, and how a cell's peer is named.
 *
 * Use: `await runAudit(sb.dockerHost, ['--verify', '--format', 'json'])`; `peerName(cell.from)`.
 */
import { run, type RunResult } from '../../src/kernel/run.js';
import type { Cell } from '../../src/audit/index.js';
import { REDES_BIN } from './sandbox.js';

export function runAudit(dockerHost: string, args: readonly string[]): Promise<RunResult> {
  return run([REDES_BIN, 'audit', '-H', dockerHost, ...args], { allowFailure: true, timeoutMs: 120_000 });
}

/** A container's name (without its host), `host` or `world`. */
export const peerName = (p: Cell['from']): string => (p.kind === 'container' ? p.name : p.kind);
