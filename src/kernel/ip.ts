/**
 * iproute2 access: changes go through one `ip -batch -` per operation (one process for many changes),
 * reads through `ip -json`. Everything acts in the calling process's network namespace (the daemon
 * runs inside its sandbox host namespace), or in `netns` when given (`ip -n NAME`).
 *
 * Beware: batch lines are split on white space by ip itself, so every argument is checked to hold no
 * white space or quote; callers validate names at the API edge, this is the last guard.
 */
import { run } from './run.js';

export type IpCommand = readonly string[];

const SAFE_ARG = /^[^\s"'\\#]+$/;

function checkArgs(cmd: IpCommand): void {
  for (const a of cmd) {
    if (!SAFE_ARG.test(a)) throw new Error(`ip: unsafe argument ${JSON.stringify(a)}`);
  }
}

/**
 * Applies several ip commands in one process; stops at the first failure and throws. With `force`
 * (ip's -force) every command is tried whatever fails before, and it throws after them if any failed.
 */
export async function ipBatch(cmds: readonly IpCommand[], netns?: string, opts: { force?: boolean } = {}): Promise<void> {
  if (cmds.length === 0) return;
  cmds.forEach(checkArgs);
  const text = cmds.map((c) => c.join(' ')).join('\n') + '\n';
  const argv = ['ip', ...(netns ? ['-n', netns] : []), ...(opts.force ? ['-force'] : []), '-batch', '-'];
  await run(argv, { input: text });
}

/** Runs one `ip -json` read and parses it (empty output is an empty list). */
export async function ipJson<T>(args: readonly string[], netns?: string): Promise<T> {
  checkArgs(args);
  const argv = netns ? ['ip', '-n', netns, '-json', ...args] : ['ip', '-json', ...args];
  const { stdout } = await run(argv);
  const text = stdout.trim();
  return (text ? JSON.parse(text) : []) as T;
}

export interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  operstate: string;
  address?: string;
  link_type?: string;
  master?: string;
  altnames?: string[];
  linkinfo?: { info_kind?: string };
}

export interface IpAddrInfo {
  family: 'inet' | 'inet6';
  local: string;
  prefixlen: number;
  scope?: string;
}

export interface IpAddr extends IpLink {
  addr_info: IpAddrInfo[];
}

export interface IpRoute {
  dst: string;
  dev?: string;
  gateway?: string;
  protocol?: string;
  scope?: string;
}

export function listLinks(netns?: string): Promise<IpLink[]> {
  return ipJson<IpLink[]>(['-details', 'link', 'show'], netns);
}

export function listAddrs(netns?: string): Promise<IpAddr[]> {
  return ipJson<IpAddr[]>(['addr', 'show'], netns);
}

