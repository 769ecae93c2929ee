/**
 * The `host` and `null` drivers: networks without kernel objects of their own. Docker allows exactly
 * one network of each (the predefined `host` and `none`).
 */
import { forbidden } from '../util/index.js';
import type { Attachment, DriverNetwork, LostEndpoint, NetworkDriver, NetworkOptions } from './driver.js';

class SingletonDriver implements NetworkDriver<null> {
  readonly scope = 'local';
  readonly allocator = 'local';

  constructor(
    readonly name: string,
    private readonly attach: Attachment,
  ) {}

  parseOptions(raw: Readonly<Record<string, string>>): { shown: Record<string, string>; options: NetworkOptions<null> } {
    return { shown: { ...raw }, options: { attach: this.attach, icc: true, reserved: {}, own: null } };
  }

  checkPools(): void {}

  checkCreate(_net: DriverNetwork, existing: readonly DriverNetwork[]): void {
    if (existing.length > 0) {
      throw forbidden('network.singleton', `only one instance of "${this.name}" network is allowed`);
    }
  }

  async createNetwork(): Promise<void> {}
  async deleteNetwork(): Promise<void> {}
  async restore(): Promise<LostEndpoint[]> {
    return [];
  }

  async joinEndpoint(): Promise<{ hostIfname: string }> {
    // host and none networks have no endpoints of their own: the engine never asks.
    throw forbidden('network.no_endpoints', `the ${this.name} network takes no endpoints`);
  }

  async leaveEndpoint(): Promise<void> {}
}

/** Containers on `host` share the engine host's namespace. */
export const hostDriver: NetworkDriver<null> = new SingletonDriver('host', 'host');
/** Containers on `none` have a namespace of their own with only `lo`. */
export const nullDriver: NetworkDriver<null> = new SingletonDriver('null', 'none');
