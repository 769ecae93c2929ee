/**
 * IPAM: address and prefix math, default pools and automatic subnets, network IPAM validation and
 * per-network address allocation, all pure (no I/O, no kernel). Layers above import from here only.
 */
export {
  type Address,
  type Family,
  type Prefix,
  addressToString,
  bitLength,
  broadcastAddress,
  formatAddress,
  formatNetwork,
  formatPrefix,
  hostMask,
  lastAddress,
  makePrefix,
  parseAddress,
  parsePrefix,
  prefixContains,
  prefixesOverlap,
  tryParseAddress,
  tryParsePrefix,
} from './cidr.js';
export {
  type PoolSpec,
  DEFAULT_LOCAL_POOLS,
  ERR_POOLS_EXHAUSTED,
  chooseSubnet,
  deriveUlaPool,
  parseAddressPoolFlag,
  parseAddressPoolFlags,
  validatePools,
  withUlaPool,
} from './pools.js';
export {
  type IpamConfigEntry,
  type IpamContext,
  type IpamInput,
  type NormalizedIpam,
  ERR_POOL_OVERLAP,
  validateIpamConfig,
  validateIpamEntries,
} from './network-config.js';
export { checkNotHostNetwork, checkSubnetUsable } from './subnet-rules.js';
export {
  type AllocateOptions,
  type NormalizedPool,
  type UsedAddresses,
  ERR_ADDRESS_IN_USE,
  ERR_NO_AVAILABLE_IPS,
  allocateAddress,
  allocateFromPools,
  lowestFree,
  macFromIPv4,
  randomMac,
  subnetReserved,
} from './allocator.js';
export { PortAllocator, isV6, parsePortRequests, type PortProto } from './ports.js';
