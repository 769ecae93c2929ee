/** engine/ports: publishing container ports (`-p`, `-P`) as a container hook. */
export { PortPublishing, installPortPublishing, type PortMapView, type PortPublishingDeps } from './port-hooks.js';
