export type { DriverNetwork, NetworkDriver } from './driver.js';
export { BridgeDriver } from './bridge/bridge-driver.js';
export { OPT as BRIDGE_OPT, defaultBridgeShownOptions, parseBridgeOptions } from './bridge/options.js';
export type { BridgeOptions } from './bridge/options.js';
export { hostDriver, nullDriver } from './builtin.js';
export { addBridgeEndpoint, delEndpoint, createSandbox, deleteSandbox, listSandboxes, newHostIfname } from './endpoint.js';
export type { EndpointSpec } from './endpoint.js';
