/**
 * Signals as dockerd reads them for `kill`, `stop --signal` and the kill event's attribute.
 *
 * Use: `parseSignal(raw)` at the edge of an operation (throws Docker's 400), `signalNumber(sig)` for
 * the event.
 *
 * Beware: real-time signals (RTMIN+N, RTMAX-N) have no entry in node's table: they pass by name to
 * the runtime, and their event shows the name.
 */
import { constants as osConstants } from 'node:os';
import { invalidParameter } from '../../util/index.js';

/**
 * A signal as dockerd reads one: a number from 1 to 64, or a name with or without SIG in any case
 * (real-time ones as RTMIN+N / RTMAX-N); anything else is Docker's 400 `Invalid signal: X`.
 */
export function parseSignal(raw: string): string | number {
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    if (n >= 1 && n <= 64) return n;
  } else {
    const name = raw.toUpperCase().replace(/^SIG/, '');
    if (`SIG${name}` in osConstants.signals || /^RTM(IN|AX)([+-]\d{1,2})?$/.test(name)) return name;
  }
  throw invalidParameter('container.signal', `Invalid signal: ${raw}`);
}


/** The number of a parsed signal, when node knows it. */
export function signalNumber(signal: string | number): number | undefined {
  return typeof signal === 'number' ? signal : osConstants.signals[`SIG${signal}` as keyof typeof osConstants.signals];
}
