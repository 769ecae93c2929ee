/** engine/ports: publishing container ports (`-p`, `-P`) as a container hook. */
export {
  PortPublishing,
  installPortPublishing,
  type HostPortReservations,
  type PortFirewall,
  type PortMapView,
  type PortPublishingDeps,
  type PortRule,
} from './port-hooks.js';
