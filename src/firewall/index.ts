export { renderRuleset, renderTeardown, TABLE_FAMILY } from './render.js';
export type { FirewallNetwork, FirewallState } from './render.js';
export { NftFirewall, NoFirewall, RecordingFirewall } from './firewall.js';
export type { Firewall } from './firewall.js';
