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
} from './container-process.js';
export { execProcess, type ExecOptions, type ExecProcess } from './exec.js';
export { readHostLimits, type HostLimits } from './host-limits.js';
export { LogFile, readLogs, type LogEntry, type ReadLogsOptions } from './logs.js';
export { ALL_CAPABILITIES, DEFAULT_CAPABILITIES } from './oci-defaults.js';
export {
  buildExecProcess,
  buildOciSpec,
  effectiveCapabilities,
  type BindMount,
  type ExecProcessInput,
  type OciDevice,
  type OciProcess,
  type OciSpec,
  type OciSpecInput,
  type OciUser,
} from './oci-spec.js';
export { runcDelete, runcKill, runcList, runcStart, runcState, type Runc, type RuncState, type RuncStatus } from './runc.js';
export { ShimStream, type OutputFrame } from './shim-stream.js';
export { exitStatus, formatNs, initPid, shimPid, type ExitStatus } from './state-files.js';
