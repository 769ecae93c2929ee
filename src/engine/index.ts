/**
 * engine/: the controller of every request, in folders by concern: networks/, containers/, and the
 * container features ports/, links/ and discovery/ (embedded DNS). Makes no kernel calls itself:
 * drivers/ and runtime/ do. Other layers import only from this file.
 */
export { NetworkController, toDriverNetwork, type NetworkControllerDeps, type IpamDefaults } from './networks/index.js';
export type { NetworkRecord, IpamPoolRecord, NetworkCreateRequest } from './networks/index.js';
export { ContainerController, ContainerNetworking, type ContainerControllerDeps, type ImageLookup } from './containers/index.js';
export type { ContainerHooks, EtcContributions } from './containers/index.js';
export type * from './containers/container-types.js';
export { installPortPublishing, PortPublishing, type PortMapView } from './ports/index.js';
export { createServiceDiscovery, type ServiceDiscovery } from './discovery/index.js';
export type { SwarmController, SwarmInitRequest, SwarmJoinRequest } from '../cluster/index.js';
