export { renderRuleset, renderTeardown, userTable, TABLE_FAMILY } from './render.js';
export type { FirewallNetwork, FirewallState } from './render.js';
export { portElement, portElements, renderPortDelta } from './render-ports.js';
export type { FirewallPort, FirewallProto } from './render-ports.js';
export { linkElement, linkElements, renderLinkDelta } from './render-links.js';
export type { FirewallLink } from './render-links.js';
export { NftFirewall, NoFirewall, RecordingFirewall } from './firewall.js';
export type { Firewall } from './firewall.js';
export { FirewallManager } from './manager.js';
