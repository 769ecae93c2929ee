/**
 * engine/networks: network records and their lifecycle (create, remove, prune, restore), the IPAM
 * plan of a create request, and the engine's own address allocator for local-scope drivers.
 */
export { NetworkController, toDriverNetwork, type NetworkControllerDeps } from './network-controller.js';
export { PREDEFINED_NAMES, type IpamPoolRecord, type NetworkCreateRequest, type NetworkRecord } from './network-record.js';
export type { IpamDefaults } from './ipam-plan.js';
export { LocalAddresses } from './local-addresses.js';
