/**
 * The sandbox layer: isolated engine hosts with a simulated outside world (see sandbox.ts and
 * layout.ts). The CLI wires `sandboxCommand` in as `redes sandbox ...`; tests use the functions.
 */
export { sandboxCommand } from './cli.js';
export { labCommand } from './lab-cli.js';
export { type LabHost, type LabInfo, type LabRecord, type LabUpOptions, labDown, labHost, labList, labUp } from './lab.js';
export {
  sandboxDown,
  sandboxExec,
  sandboxLan,
  sandboxList,
  sandboxUp,
  sandboxWorld,
  type DaemonState,
  type DownOptions,
  type Progress,
  type SandboxInfo,
  type UpOptions,
  type UpResult,
} from './sandbox.js';
export {
  DEFAULT_NAME,
  HOST_ADDR,
  HOST_LAN_ADDR,
  LAN_ADDR,
  NAME_PATTERN,
  WORLD_ADDR,
  WORLD_DOMAIN,
  exportLine,
  sandboxPaths,
  type SandboxPaths,
} from './layout.js';
export { ping } from './services.js';
