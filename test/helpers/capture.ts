/**
 * Packet captures for tests and benchmarks: `tcpdump` on an interface of a namespace, written to a
 * file, then read back as a count of matching packets and a search for a plaintext marker.
 *
 * Use: `const cap = await startCapture(ns, 'lanbr', file)`; traffic; `await cap.stop()`;
 * `await countPackets(file, 'udp port 4789')`, `await captureContains(file, 'MARKER')`.
 *
 * Beware: tcpdump is ended by its pid (SIGINT, so it flushes); the caller removes the file. Without
 * `--immediate-mode` the kernel holds packets in its ring until a block times out, and a capture
 * stopped right after the traffic can come back empty.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { nsenterArgv, run } from '../../src/kernel/index.js';

export interface Capture {
  stop(): Promise<void>;
}

export async function startCapture(netns: string, ifname: string, file: string): Promise<Capture> {
  const [cmd, ...args] = nsenterArgv(netns, ['tcpdump', '--immediate-mode', '-U', '-n', '-s', '0', '-i', ifname, '-w', file]);
  const child = spawn(cmd ?? 'nsenter', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  // tcpdump says "listening on ..." once the socket is open; only then is traffic seen.
  for (let i = 0; i < 200 && !/listening on/.test(err); i++) {
    if (child.exitCode !== null) throw new Error(`tcpdump failed: ${err.trim()}`);
    await sleep(10);
  }
  return {
    async stop() {
      if (child.exitCode === null) child.kill('SIGINT');
      await Promise.race([exited, sleep(3000).then(() => child.kill('SIGKILL'))]);
    },
  };
}

/** Number of packets in `file` matching the pcap filter. */
export async function countPackets(file: string, filter: string): Promise<number> {
  const { stdout } = await run(['tcpdump', '-n', '-r', file, filter], { allowFailure: true });
  return stdout.split('\n').filter((l) => l.trim()).length;
}

/** True when `marker` appears anywhere in the captured bytes. */
export async function captureContains(file: string, marker: string): Promise<boolean> {
  return (await readFile(file)).includes(Buffer.from(marker));
}
