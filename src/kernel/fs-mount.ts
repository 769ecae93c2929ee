/**
 * Mounting one filesystem at a path of ours (the local volume driver's `-o type=... device=... o=...`)
 * and unmounting it.
 *
 * Use: `await mountFilesystem({ type: 'tmpfs', device: 'tmpfs', options: 'size=1m', target })`.
 * Beware: the target must be under the instance's data root, so teardown's unmountAllUnder finds
 * it; arguments go to mount(8) as argv, each checked (no option may look like a flag).
 */
import { run } from './run.js';

export interface FilesystemMount {
  type: string;
  device: string;
  /** Comma-separated mount options (`o=`), may be empty. */
  options: string;
  target: string;
}

export async function mountFilesystem(m: FilesystemMount): Promise<void> {
  for (const [what, v] of [['type', m.type], ['device', m.device], ['options', m.options]] as const) {
    if (v.startsWith('-')) throw new Error(`mount ${what} must not start with "-": ${v}`);
  }
  const argv = ['mount', '-t', m.type === 'none' ? 'none' : m.type];
  if (m.options) argv.push('-o', m.options);
  argv.push('--', m.device, m.target);
  await run(argv, { timeoutMs: 30_000 });
}

export async function unmountFilesystem(target: string): Promise<void> {
  const r = await run(['umount', target], { allowFailure: true, timeoutMs: 30_000 });
  if (r.code !== 0) await run(['umount', '-l', target], { allowFailure: true, timeoutMs: 30_000 });
}
