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

  checkCreate(_net: DriverNetwork, existing: readonly DriverNetwork[]): void {
    if (existing.length > 0) {
      throw forbidden('network.singleton', `only one instance of "${this.name}" network is allowed`);
    }
  }

  async createNetwork(): Promise<void> {}
  async deleteNetwork(): Promise<void> {}
  async restore(): Promise<void> {}
}

export const hostDriver: NetworkDriver = new SingletonDriver('host');
export const nullDriver: NetworkDriver = new SingletonDriver('null');
