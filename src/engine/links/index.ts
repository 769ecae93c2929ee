/** engine/links: legacy links (`--link`): environment, /etc/hosts lines and the ICC-off firewall elements. */
export { createLinkHooks, splitStoredLink, type LinkHooks, type LinkHooksDeps } from './link-hooks.js';
export { LinkRules, exposedPorts, type LinkFirewall, type LinkRule, type LinkRulesDeps } from './link-rules.js';
export { linkEnv, parseLink, type LinkTarget } from './link-env.js';
