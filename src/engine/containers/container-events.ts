/**
 * Docker's events of a container's lifecycle (`docker events`): the container's own (create, start,
 * die, ...), the network connect/disconnect of each endpoint, and volume mount/unmount.
 *
 * Also, inside the daemon: the exits and removals that `docker wait`, stop and kill wait for.
 *
 * Use: `new ContainerEvents(bus, networks)`; the controller calls it where each step is done.
 * Beware: without a bus (unit tests, tools) ContainerEvents does nothing.
 */
import { EventEmitter } from 'node:events';
import { invalidParameter } from '../../util/index.js';
import type { EventBus } from '../events.js';
import type { NetworkRecord } from '../networks/network-record.js';
import type { ContainerRecord, EndpointRecord } from './container-types.js';

export class ContainerEvents {
  constructor(
    private readonly bus: EventBus | undefined,
    private readonly networks: { get(id: string): NetworkRecord | undefined },
  ) {}

  /** A container event: its labels, image and name, plus `extra`. */
  container(rec: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    const labels = (rec.config.Labels as Record<string, string> | undefined) ?? {};
    this.bus?.emit('container', action, rec.id, { ...labels, image: rec.imageRef, name: rec.name, ...extra });
  }

  /** connect/disconnect of every endpoint (start, exit). */
  endpoints(rec: ContainerRecord, action: 'connect' | 'disconnect'): void {
    // Docker announces the container's networks only, not its endpoint on docker_gwbridge.
    for (const ep of Object.values(rec.endpoints)) if (!ep.sandboxGateway) this.endpoint(rec, ep, action);
  }

  endpoint(rec: ContainerRecord, ep: EndpointRecord, action: 'connect' | 'disconnect'): void {
    const type = this.networks.get(ep.networkId)?.driver ?? '';
    this.bus?.emit('network', action, ep.networkId, { container: rec.id, name: ep.networkName, type });
  }

  /** mount/unmount of the container's volumes (start, exit). */
  volumes(rec: ContainerRecord, action: 'mount' | 'unmount'): void {
    for (const m of rec.mounts ?? []) {
      if (m.type !== 'volume') continue;
      const attrs: Record<string, string> = { container: rec.id, driver: 'local' };
      if (action === 'mount') Object.assign(attrs, { destination: m.destination, propagation: m.propagation, 'read/write': String(m.rw) });
      this.bus?.emit('volume', action, m.source, attrs);
    }
  }
}

/** Exits and removals as they happen, for whoever waits for one (stop, kill, rm -f, `docker wait`). */
export class ExitNotices {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  /** Resolves with the exit code of the container's next exit. */
  next(id: string): Promise<number> {
    return new Promise((resolve) => this.emitter.once(`exit:${id}`, resolve));
  }

  exited(id: string, exitCode: number): void {
    this.emitter.emit(`exit:${id}`, exitCode);
  }

  removed(id: string, exitCode: number): void {
    this.emitter.emit(`removed:${id}`, exitCode);
  }

  /** `docker wait`: not-running (default), next-exit or removed; Docker's text for another condition. */
  async wait(rec: ContainerRecord, condition: string): Promise<{ StatusCode: number; Error: { Message: string } | null }> {
    const cond = condition || 'not-running';
    if (!['not-running', 'next-exit', 'removed'].includes(cond)) throw invalidParameter('container.wait_condition', `invalid condition: "${cond}"`);
    if (cond === 'not-running' && rec.state.status !== 'running') return { StatusCode: rec.state.exitCode, Error: null };
    const code = await (cond === 'removed' ? new Promise<number>((resolve) => this.emitter.once(`removed:${rec.id}`, resolve)) : this.next(rec.id));
    return { StatusCode: code, Error: null };
  }
}
