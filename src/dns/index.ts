/** The embedded DNS server of user-defined networks (Docker's 127.0.0.11), one way in. */
export { EmbeddedDns, EMBEDDED_DNS_ADDRESS, DEFAULT_UPSTREAM_TIMEOUT_MS } from './server.js';
export type { EmbeddedDnsOptions } from './server.js';
export { DnsRecords } from './records.js';
export type { DnsEndpoint, Addresses } from './records.js';
export type { ClientView } from './answer.js';
export { embeddedResolvConf, nameservers, searchAndOptions, upstreamServers, MAX_UPSTREAM } from './upstream.js';
export { forwardTcp, forwardUdp } from './forwarder.js';
