/** The JSON shapes of networks in the Engine API (v1.50 `Network` / `NetworkSummary`). */
import type { NetworkRecord, IpamPoolRecord } from '../../engine/index.js';

export interface NetworkContainerView {
  Name: string;
  EndpointID: string;
  MacAddress: string;
  IPv4Address: string;
  IPv6Address: string;
}

function ipamConfig(p: IpamPoolRecord): Record<string, unknown> {
  const c: Record<string, unknown> = { Subnet: p.subnet };
  if (p.ipRange) c.IPRange = p.ipRange;
  if (p.gateway) c.Gateway = p.gateway;
  if (Object.keys(p.auxAddresses).length) c.AuxiliaryAddresses = p.auxAddresses;
  return c;
}

/** One host of an overlay network (Engine API PeerInfo). */
export interface NetworkPeerView {
  Name: string;
  IP: string;
}

/** `peers`: inspect's Peers of an overlay network, left out when there are none (as Docker does). */
export function networkView(n: NetworkRecord, containers: Record<string, NetworkContainerView> = {}, peers: readonly NetworkPeerView[] = []): Record<string, unknown> {
  const config = [n.ipam.v4, n.ipam.v6].filter((p): p is IpamPoolRecord => !!p).map(ipamConfig);
  return {
    Name: n.name,
    Id: n.id,
    Created: n.created,
    Scope: n.scope,
    Driver: n.driver,
    EnableIPv4: n.enableIPv4,
    EnableIPv6: n.enableIPv6,
    IPAM: { Driver: n.ipam.driver, Options: n.ipam.options, Config: config },
    Internal: n.internal,
    Attachable: n.attachable,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: containers,
    Options: n.options,
    Labels: n.labels,
    ...(peers.length ? { Peers: peers } : {}),
  };
}
