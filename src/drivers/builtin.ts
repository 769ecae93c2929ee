/**
 * The `host` and `null` drivers: networks without kernel objects of their own. Docker allows exactly
 * one network of each (the predefined `host` and `none`).
 */
import { forbidden } from '../util/errors.js';
import type { DriverNetwork, NetworkDriver } from './driver.js';

class SingletonDriver implements NetworkDriver {
  constructor(readonly name: string) {}

  parseOptions(options: Readonly<Record<string, string>>): Record<string, string> {
    return { ...options };
  }

  reservedAddresses(): Record<string, string> {
    return {};
  }

  checkCreate(_net: DriverNetwork, existing: readonly DriverNetwork[]): void {
    if (existing.length > 0) {
      throw forbidden('network.singleton', `only one instance of "${this.name}" network is allowed`);
    }
  }

  async createNetwork(): Promise<void> {}
  async deleteNetwork(): Promise<void> {}
  async restore(): Promise<void> {}

  async joinEndpoint(): Promise<{ hostIfname: string }> {
    // host and none networks have no endpoints of their own: the engine never asks.
    throw forbidden('network.no_endpoints', `the ${this.name} network takes no endpoints`);
  }

  async leaveEndpoint(): Promise<void> {}
}

export const hostDriver: NetworkDriver = new SingletonDriver('host');
export const nullDriver: NetworkDriver = new SingletonDriver('null');
