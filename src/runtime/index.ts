/**
 * runtime/: running container processes with runc through redes-shim (shim/redes-shim.c).
 * The engine builds a spec (buildOciSpec), writes the bundle, starts the container, attaches,
 * reads logs, waits for the exit, execs; after a daemon restart it re-adopts running containers
 * with isRunning + waitExit. Images, rootfs and overlay mounts live in images/ (a layer above).
 */
export { attach, type AttachOptions, type Attachment } from './attach.js';
export {
  createContainer,
  deleteContainer,
  isRunning,
  resize,
  signalContainer,
  startContainer,
  startCreated,
  waitExit,
  type ContainerProcessOptions,
  type LogLimits,
} from './container-process.js';
export { planPrivateMounts, privateMountPlan, specHostPaths, templateKeepRoot, type PrivateMountPlan } from './private-mounts.js';
export { openMountTemplate, type MountTemplate } from './mount-template.js';
export { execProcess, type ExecOptions, type ExecProcess } from './exec.js';
export { readHostLimits, securityOptionsInfo, type HostLimits } from './host-limits.js';
export { appArmorEnabled, compileAppArmorProfile, ensureAppArmorProfile, renderAppArmorProfile } from './apparmor.js';
export { parseSecurityOptions, type SecurityOptions } from './security-opts.js';
export { defaultSeccompProfile, loadSeccompProfile, type SeccompProfile } from './seccomp-profile.js';
export { LogFile, readLogs, type LogEntry, type ReadLogsOptions } from './logs.js';
export { ALL_CAPABILITIES, DEFAULT_CAPABILITIES } from './oci-defaults.js';
export {
  buildOciSpec,
  effectiveCapabilities,
  replaceOrAppendEnv,
  type BindMount,
  type OciDevice,
  type OciProcess,
  type OciSpec,
  type OciSpecInput,
  type OciUser,
} from './oci-spec.js';
export { runcDelete, runcKill, runcList, runcStart, runcState, type Runc, type RuncState, type RuncStatus } from './runc.js';
export { ShimStream, type OutputFrame } from './shim-stream.js';
export { exitStatus, formatNs, initPid, shimPid, type ExitStatus } from './state-files.js';
export { DEFAULT_MIRROR, mmdebstrapTar, validateDebianInput, type MmdebstrapOptions } from './mmdebstrap.js';
export { describeCert, makeCa, makeKeyAndCsr, signCsr, signedBy, type CaMaterial, type KeyAndCsr, type SignOptions } from './cluster/pki.js';
export {
  ETCD_CLIENT_PORT,
  ETCD_PEER_PORT,
  clientUrl,
  ensureEtcdMember,
  etcdHealthy,
  etcdMemberPid,
  peerUrl,
  stopEtcdMember,
  type EtcdMemberSpec,
  type EtcdTlsFiles,
} from './cluster/etcd-member.js';
export type { CgroupStats } from './cgroup-stats.js';
export type { OciDeviceRule } from './oci-defaults.js';
export type { OciMount } from './oci-defaults.js';
export type { ProcessTable } from './top.js';
export { cgroupPids } from './cgroup-stats.js';
export { cgroupStats } from './cgroup-stats.js';
export { hostDevices } from './devices.js';
export { netDev } from './cgroup-stats.js';
export { oomKilled } from './cgroup-stats.js';
export { processTable } from './top.js';
export { runcPause } from './runc.js';
export { runcUpdate } from './runc.js';
export { systemCpuNs } from './cgroup-stats.js';
