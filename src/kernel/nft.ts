/**
 * nftables access: a whole change is one `nft -f -` transaction (atomic: all of it or none), reads
 * come from `nft -j`. Acts in the calling process's network namespace.
 *
 * Beware: nftables 1.0.6 (Debian 12) wants each rule and each closing brace on its own line; the
 * renderers in firewall/ write rulesets that way.
 */
import { nsenterArgv } from './netns.js';
import { run } from './run.js';

/** Applies a ruleset script in one transaction (in named namespace `netns` when given: tests). */
export async function nftApply(script: string, netns?: string): Promise<void> {
  await run(netns ? nsenterArgv(netns, ['nft', '-f', '-']) : ['nft', '-f', '-'], { input: script });
}

/** The JSON listing of one table, or undefined when it does not exist (the doctor reads ours). */
export async function nftTableJson(family: string, name: string): Promise<unknown> {
  const r = await run(['nft', '-j', 'list', 'table', family, name], { allowFailure: true });
  if (r.code !== 0) return undefined;
  return JSON.parse(r.stdout) as unknown;
}

/** The whole live ruleset as `nft -j list ruleset` prints it (every table, the operators' too). */
export async function nftRulesetJson(netns?: string): Promise<unknown> {
  const argv = netns ? ['nsenter', `--net=/run/netns/${netns}`, 'nft', '-j', 'list', 'ruleset'] : ['nft', '-j', 'list', 'ruleset'];
  const { stdout } = await run(argv);
  return JSON.parse(stdout) as unknown;
}
