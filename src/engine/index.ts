/**
 * engine/: the controller of every request, in folders by concern: networks/, containers/, and the
 * container features ports/, links/ and discovery/ (embedded DNS). Makes no kernel calls itself:
 * the drivers and the host seam (host/, injected by redesd) do. Other layers import only from this file.
 */
export { NetworkController, toDriverNetwork, type NetworkControllerDeps, type IpamDefaults } from './networks/index.js';
export type { NetworkRecord, IpamPoolRecord, NetworkCreateRequest } from './networks/index.js';
export { ContainerController, ContainerNetworking, type ContainerControllerDeps, type ImageLookup } from './containers/index.js';
export type { ContainerHooks, EtcContributions } from './containers/index.js';
export { logLimits, validateLogConfig, type LogConfig } from './containers/log-config.js';
export type * from './containers/container-types.js';
export { installPortPublishing, PortPublishing, type PortMapView } from './ports/index.js';
export { createServiceDiscovery, type ServiceDiscovery } from './discovery/index.js';
export type { SwarmController, SwarmInitRequest, SwarmJoinRequest } from '../cluster/index.js';
export { ContainerObserver } from './containers/container-observer.js';
export { ContainerUpdates } from './containers/container-update.js';
export { mountsView } from './containers/container-mounts.js';

export type { VolumeRecord, Volumes } from './containers/volume-service.js';
export { EventBus } from './events.js';
export type { EventMessage } from './events.js';
export { eventFilter } from './events.js';
export { healthHooks } from './containers/health.js';
export { parseEventTime } from './events.js';
export { ContainerFiles, mergeCommitConfig, type ContainerFilesDeps, type ContainerChange, type CommitRequest } from './containers/container-files.js';
export { ContainerUsage, bytesUnder, type ContainerUsageDeps } from './containers/container-usage.js';
export { withImageEvents, type ImageEventSink } from './image-events.js';
