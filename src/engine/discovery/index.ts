/** engine/discovery: the embedded DNS as a container hook, wired together with legacy links. */
export { createDnsHooks, endpointDnsNames, type ContainerLookup, type DnsHookDeps } from './dns-hooks.js';
export { createServiceDiscovery, type ServiceDiscovery, type ServiceDiscoveryDeps } from './service-discovery.js';
