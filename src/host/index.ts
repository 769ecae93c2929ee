/**
 * host/: the engine's host seam (engine-host.ts), the one interface through which the engine's
 * controllers reach the kernel and container processes, and its implementation over kernel/,
 * runtime/ and images/ (kernel-host.ts). Other layers import only from this file.
 */
export type { ContainerNetnsOps, ContainerRuntimeOps, EngineHost, HostPortOps, ProcessSpec } from './engine-host.js';
export { KernelHost } from './kernel-host.js';
/** Types of the seam's contract, from the layers that define them. */
export type { FirewallPort } from '../firewall/index.js';
export { PortReservationError, type ReservedPort } from '../kernel/index.js';
export type { ExitStatus } from '../runtime/index.js';
