/**
 * nftables access: a whole change is one transaction (atomic: all of it or none), applied through
 * libnftables in the `redes-nft` helper process (nft-helper.ts: in the daemon's own process each
 * script paid hundreds of copy-on-write page faults), else in-process (the addon's native/nft.c, on
 * libuv's thread pool, one script at a time), else by `nft -f -`: where the library cannot be
 * loaded, for another namespace, or when $REDES_NFT is `exec` (tests that put an `nft` double on the
 * daemon's PATH: neither library path is used then). Reads come from `nft -j`. Acts in the calling
 * process's network namespace.
 *
 * The in-process library declines a script while the daemon holds many descriptors (its select()
 * would abort the process past 1024, see native/nft.c): that script then goes to `nft -f -` too.
 *
 * Beware: nftables 1.0.6 (Debian 12) wants each rule and each closing brace on its own line; the
 * renderers in firewall/ write rulesets that way. A refused script throws an Error with nft's text.
 */
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { logger } from '../util/index.js';
import { helperApply } from './nft-helper.js';
import { nsenterArgv } from './netns.js';
import { run } from './run.js';

const log = logger.child({ component: 'run' });

interface NftAddon {
  nftAvailable(): boolean;
  /** false: not tried, the process holds too many descriptors for libnftables (native/nft.c). */
  nftRunAsync(script: string): Promise<boolean>;
}

let addon: NftAddon | null | undefined;
function inProcess(): NftAddon | null {
  if (addon === undefined) {
    if (process.env.REDES_NFT === 'exec') return (addon = null);
    try {
      // dist/src/kernel/nft.js → dist/netns-socket.node
      const a = createRequire(import.meta.url)('../../netns-socket.node') as NftAddon;
      addon = a.nftAvailable() ? a : null;
    } catch {
      addon = null;
    }
  }
  return addon;
}

/** In-process scripts run one after the other: libnftables keeps some global state. */
let queue: Promise<void> = Promise.resolve();

/** Applies a ruleset script in one transaction (in named namespace `netns` when given: tests). */
export async function nftApply(script: string, netns?: string): Promise<void> {
  if (!netns && process.env.REDES_NFT !== 'exec' && (await applyInHelper(script))) return;
  const lib = netns ? null : inProcess();
  if (!lib || !(await applyInProcess(lib, script))) {
    await run(netns ? nsenterArgv(netns, ['nft', '-f', '-']) : ['nft', '-f', '-'], { input: script });
  }
}

/** true once applied by the helper; false when there is none (no binary, no libnftables). */
async function applyInHelper(script: string): Promise<boolean> {
  const t0 = performance.now();
  try {
    return (await helperApply(script)) === 'applied';
  } catch (e) {
    throw new Error(`nft -f - failed: ${(e as Error).message.trim()}`, { cause: e });
  } finally {
    if (log.isLevelEnabled('trace')) log.trace({ cmd: 'nft -f - (helper)', ms: Math.round((performance.now() - t0) * 10) / 10 }, 'nft applied');
  }
}

/** true once applied by the library; false when it declined (too many descriptors open). */
async function applyInProcess(lib: NftAddon, script: string): Promise<boolean> {
  const t0 = performance.now();
  const next = queue.then(() => lib.nftRunAsync(script));
  queue = next.then(
    () => undefined,
    () => undefined,
  );
  try {
    const applied = await next;
    if (!applied) log.debug('nft script sent to the nft program: too many descriptors open for libnftables');
    return applied;
  } catch (e) {
    throw new Error(`nft -f - failed: ${(e as Error).message.trim()}`, { cause: e });
  } finally {
    if (log.isLevelEnabled('trace')) log.trace({ cmd: 'nft -f - (in-process)', ms: Math.round((performance.now() - t0) * 10) / 10 }, 'nft applied');
  }
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
