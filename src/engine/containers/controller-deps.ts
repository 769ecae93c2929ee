/**
 * What the container controller is given by redesd (and by the unit tests' harness): the store, the
 * network side, the host seam, images, folders, and the features plugged into the lifecycle.
 */
import type { EngineHost } from '../../host/index.js';
import type { Store } from '../../store/index.js';
import type { Volumes } from '../../volumes/index.js';
import type { EventBus } from '../events.js';
import type { NetworkController } from '../networks/network-controller.js';
import type { ContainerHooks } from './container-hooks.js';
import type { ImageLookup } from './container-create.js';
import type { ContainerNetworking } from './container-network.js';
import type { LogConfig } from './log-config.js';

export interface ContainerControllerDeps {
  store: Store;
  networks: NetworkController;
  networking: ContainerNetworking;
  /** Kernel and process operations (namespaces, rootfs mounts, runc). */
  host: EngineHost;
  images: ImageLookup;
  prefix: string;
  dataRoot: string;
  execRoot: string;
  /** The resolv.conf containers derive theirs from (the engine host's). */
  resolvConfPath: string;
  /** What `host-gateway` in `--add-host` stands for (dockerd's --host-gateway-ip); absent: the default bridge's gateways. */
  hostGatewayIps?: readonly string[];
  /** Features plugged into the lifecycle (ports, DNS, links), called in this order. */
  hooks?: readonly ContainerHooks[];
  /** The daemon's event stream (docker events). */
  bus?: EventBus;
  /** Named and anonymous volumes (binds and tmpfs need nothing more). */
  volumes?: Volumes;
  /** The daemon's --log-driver and --log-opt (default: json-file, no options). */
  logDefaults?: LogConfig;
  /** `docker rm --link /parent/alias`: drops a legacy link (the links feature). */
  removeLink?: (name: string) => unknown;
}
