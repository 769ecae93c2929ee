/**
 * engine/containers: container records and their lifecycle (create, start, stop, rm, exec, attach,
 * connect/disconnect), the container ↔ network plumbing, and the hook interface features plug into.
 */
export { ContainerController, type ContainerControllerDeps, type ImageLookup } from './container-controller.js';
export { ContainerNetworking, dnsNames, identityOf, type DnsIdentity } from './container-network.js';
export { strList } from './container-config.js';
export type { ContainerHooks, EtcContributions } from './container-hooks.js';
export type * from './container-types.js';
