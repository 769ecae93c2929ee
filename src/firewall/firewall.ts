/**
 * Applies rendered rulesets to the kernel. `NftFirewall` is the real one; `NoFirewall` is what an
 * `--iptables=false` daemon uses (it programs nothing); `RecordingFirewall` serves tests of the
 * layers above.
 */
import { nftApply } from '../kernel/index.js';
import { renderRuleset, renderTeardown, type FirewallState } from './render.js';

export interface Firewall {
  /** Replaces our whole ruleset with the one for `state`, atomically. Safe to repeat. */
  apply(state: FirewallState): Promise<void>;
  /** Applies a delta script (set and map elements of our table) in one transaction; throws when refused. */
  applyDelta(script: string): Promise<void>;
  /** Removes our table (daemon teardown); a missing table is fine. */
  remove(table: string): Promise<void>;
}

export class NftFirewall implements Firewall {
  async apply(state: FirewallState): Promise<void> {
    await nftApply(renderRuleset(state));
  }

  async applyDelta(script: string): Promise<void> {
    if (script) await nftApply(script);
  }

  async remove(table: string): Promise<void> {
    await nftApply(renderTeardown(table));
  }
}

export class NoFirewall implements Firewall {
  async apply(): Promise<void> {}
  async applyDelta(): Promise<void> {}
  async remove(): Promise<void> {}
}

export class RecordingFirewall implements Firewall {
  readonly applied: FirewallState[] = [];
  readonly deltas: string[] = [];
  /** When set, the next delta throws (tests of the full-render fallback). */
  failNextDelta = false;
  async apply(state: FirewallState): Promise<void> {
    this.applied.push(state);
  }
  async applyDelta(script: string): Promise<void> {
    if (this.failNextDelta) {
      this.failNextDelta = false;
      throw new Error('nft: delta refused');
    }
    this.deltas.push(script);
  }
  async remove(): Promise<void> {}
}
