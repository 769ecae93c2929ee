/**
 * kernel/: the only code that touches the kernel (with runtime/, which runs containers): programs
 * spawned with argument arrays (`ip`, `nft`, `nsenter`), /proc and /sys, network namespaces, mounts,
 * cgroups, host-port sockets, VXLAN and WireGuard links. Other layers import only from this file.
 *
 * Beware: every call acts in the calling process's network namespace unless given one; never setns
 * the Node main thread from JavaScript (the netns-socket addon does it in C, synchronously, and
 * switches back before it returns).
 */
export { CGROUP_ROOT, cgroupChildren, cgroupTreeDirs, cgroupTreePids, removeCgroupTree, thawCgroupTree } from './cgroups.js';
export {
  ipBatch,
  ipJson,
  listAddrs,
  listLinks,
  type IpAddr,
  type IpAddrInfo,
  type IpCommand,
  type IpLink,
  type IpRoute,
} from './ip.js';
export { freeBytes } from './disk-space.js';
export { mountsUnder, parseMountEntries, parseMountinfo, unmountAllUnder, type MountEntry } from './mounts.js';
export { ensureSelfBind, isSelfBind, releaseSelfBind, selfBindState } from './self-bind.js';
export { interfaceNamesInNetns, openSocketsInNetns, type NetnsSockets } from './netns-socket.js';
export {
  addBridgeLink,
  addVethPort,
  configureLink,
  deleteLink,
  ERRNO as NETLINK_ERRNO,
  linkDetails,
  linkUp,
  NetlinkError,
  routePrefixes,
  setHairpin,
  setLinkIpv6,
  setLinkMtu,
  tombstoneLink,
  type LinkConfig,
  type LinkDetails,
  type VethPort,
} from './netlink.js';
export {
  INIT_NETNS_INO,
  NETNS_DIR,
  isRootNetns,
  netnsAdd,
  netnsDelete,
  netnsDeleteMany,
  netnsExists,
  netnsId,
  selfNetnsNamed,
  netnsList,
  netnsPath,
  nsenterArgv,
  pidInNetns,
  pidsInNetns,
  pidsInNetnsAll,
  type NsId,
} from './netns.js';
export { nftApply, nftRulesetJson, nftTableJson } from './nft.js';
export { PortReservationError, PortReservations, bindPort, type ReservedPort } from './port-reservation.js';
export {
  findProcesses,
  killPids,
  pidAlive,
  pidStat,
  pidCmdline,
  readPidfile,
  runInherit,
  startDetached,
  stopPid,
  writePidfile,
  type DetachedOptions,
  type StopOptions,
  type StopResult,
} from './process.js';
export { CommandError, run, type RunOptions, type RunResult } from './run.js';
export { pipeThrough } from './pipe-through.js';
export { cgroupVersion, readHostFacts, type HostFacts } from './host-facts.js';
export { ensureSysctl, sysctlRead, sysctlWrite, sysctlWriteIn } from './sysctl.js';
export {
  VXLAN_OVERHEAD,
  VXLAN_PORT,
  ensureOverlayLinks,
  listOwnedLinks,
  listPeers,
  programPeers,
  removeOverlayLinks,
  type OverlayLinks,
  type OverlayPeer,
} from './vxlan.js';
export {
  WIREGUARD_OVERHEAD,
  WIREGUARD_GO_SOCKET_BUFFER,
  WIREGUARD_GO_TXQUEUELEN,
  ensureWireguard,
  generatePrivateKey,
  listWireguardPeers,
  publicKeyOf,
  removeWireguard,
  syncWireguardPeers,
  changeWireguardPeers,
  wireguardIfname,
  wireguardSocket,
  wireguardSupport,
  type WireguardInterface,
  type WireguardKind,
  type WireguardPeer,
} from './wireguard.js';
export { runProbes, type ProbeOutcome, type ProbeRequest, type ProbeResult } from './probe.js';
export { mountFilesystem } from './fs-mount.js';
export { mountFs, unmountFs, type FsMount } from './syscalls.js';
export { unmountFilesystem } from './fs-mount.js';
export { ensureSystemGroup } from './groups.js';
