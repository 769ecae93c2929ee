export { NetworkController, toDriverNetwork } from './network-controller.js';
export type { NetworkControllerDeps } from './network-controller.js';
export type { NetworkRecord, IpamPoolRecord, NetworkCreateRequest } from './network-record.js';
export { Filters } from './filters.js';
export { Mutex } from './lock.js';
export type { IpamDefaults } from './ipam-plan.js';
