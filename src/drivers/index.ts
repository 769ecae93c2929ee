/**
 * drivers/: network drivers (bridge, macvlan, host, null) behind one interface (driver.ts), and the
 * networks every engine starts with. Each driver parses its own options; nothing else does.
 */
export type {
  AddressAllocator,
  AddressRequest,
  Attachment,
  DriverNetwork,
  DriverPool,
  DriverScope,
  EndpointRef,
  EndpointSpec,
  LostEndpoint,
  NetworkDriver,
  NetworkOptions,
} from './driver.js';
export { BridgeDriver, memoryGuardBook } from './bridge/bridge-driver.js';
export type { GuardBook, GuardedPort } from './bridge/bridge-driver.js';
export type { BridgeOptions } from './bridge/options.js';
export { hostDriver, nullDriver } from './builtin.js';
export { delEndpoint } from './endpoint.js';
export { MacvlanDriver } from './macvlan/macvlan-driver.js';
export type { MacvlanMode, MacvlanOptions } from './macvlan/options.js';
export { DEFAULT_DRIVER, predefinedNetworks, type PredefinedNetwork } from './predefined.js';
export { ERR_NOT_SWARM_MANAGER, OverlayDriver, checkAttachable } from './overlay/overlay-driver.js';
export { overlayDevices } from './overlay/options.js';
export type { OverlayCluster, OverlayDriverDeps } from './overlay/overlay-driver.js';
export type { RemoteChange, RemoteEndpoint } from './overlay/peers.js';
export type { OverlayOptions } from './overlay/options.js';
