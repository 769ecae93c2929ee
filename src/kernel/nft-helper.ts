/**
 * The daemon's nftables helper: one long-lived `redes-nft` process (src/kernel/nft-helper/redes-nft.c,
 * built into dist/redes-nft) that applies scripts through libnftables, started at the first script
 * and fed one script after another over its stdin. Each container start and stop applies a script;
 * in the daemon's own process libnftables paid ~480 copy-on-write page faults per script (every
 * start forks a shim, see the C file), 8-15 ms of CPU, where the helper pays ~0.5 ms.
 *
 * Use: `const r = await helperApply(script)`: 'applied', 'unavailable' (no helper binary or no
 * libnftables in it: the caller applies the script another way), or it throws nft's error text.
 *
 * Beware: the helper acts in the namespace the daemon had when it started it (its own: the helper
 * is started lazily from the main thread, never inside a setns window). It is unref'd while idle,
 * so it never keeps a process alive; it ends when its stdin closes (the daemon gone). A helper that
 * dies is started again at the next script; the script it held fails (the firewall manager then
 * re-renders the whole table).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { logger } from '../util/index.js';

const log = logger.child({ component: 'nft-helper' });

export type HelperResult = 'applied' | 'unavailable';

/** Reply statuses of redes-nft. */
const APPLIED = 0;
const UNAVAILABLE = 2;

interface Pending {
  resolve(r: HelperResult): void;
  reject(e: Error): void;
}

function helperBinary(): string | undefined {
  for (const p of [process.env.REDES_NFT_HELPER, fileURLToPath(new URL('../../redes-nft', import.meta.url)), fileURLToPath(new URL('../../dist/redes-nft', import.meta.url))]) {
    if (!p) continue;
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // the next place
    }
  }
  return undefined;
}

class Helper {
  private child: ChildProcess | undefined;
  private readonly pending: Pending[] = [];
  private buf: Buffer = Buffer.alloc(0);
  /** Set once the helper cannot work here (no binary, no libnftables): scripts go another way. */
  private off = false;

  apply(script: string): Promise<HelperResult> {
    if (this.off) return Promise.resolve('unavailable');
    const child = this.child ?? this.start();
    if (!child?.stdin) return Promise.resolve('unavailable');
    const body = Buffer.from(script);
    const head = Buffer.alloc(4);
    head.writeUInt32LE(body.length);
    return new Promise<HelperResult>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.refWhileBusy(child);
      child.stdin?.write(Buffer.concat([head, body]));
    });
  }

  private start(): ChildProcess | undefined {
    const bin = helperBinary();
    if (!bin) {
      this.off = true;
      log.debug('redes-nft not found: nft scripts are applied in the daemon');
      return undefined;
    }
    const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child = child;
    this.buf = Buffer.alloc(0);
    child.stdout?.on('data', (d: Buffer) => this.onData(child, d));
    // A write to a dead helper: its exit below fails what it held.
    child.stdin?.on('error', () => undefined);
    child.on('error', (e) => this.gone(child, e));
    child.on('exit', (code, signal) => this.gone(child, new Error(`redes-nft ended (${signal ?? `code ${code}`})`)));
    this.refWhileBusy(child);
    log.debug({ pid: child.pid }, 'nft helper started');
    return child;
  }

  private onData(child: ChildProcess, d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    while (this.buf.length >= 8) {
      const status = this.buf.readUInt32LE(0);
      const len = this.buf.readUInt32LE(4);
      if (this.buf.length < 8 + len) break;
      const text = this.buf.subarray(8, 8 + len).toString();
      this.buf = this.buf.subarray(8 + len);
      const p = this.pending.shift();
      if (status === UNAVAILABLE) {
        this.off = true;
        p?.resolve('unavailable');
      } else if (status === APPLIED) p?.resolve('applied');
      else p?.reject(new Error(text.trim() || 'nft: the script was refused'));
    }
    this.refWhileBusy(child);
  }

  private gone(child: ChildProcess, e: Error): void {
    if (this.child !== child) return;
    this.child = undefined;
    const held = this.pending.splice(0);
    // Not started at all (ENOENT, EACCES): never tried again in this process; its scripts go another way.
    if (child.pid === undefined) {
      this.off = true;
      log.warn({ err: e }, 'nft helper could not start: nft scripts are applied in the daemon');
      for (const p of held) p.resolve('unavailable');
      return;
    }
    log.warn({ err: e }, 'nft helper ended; the next script starts another');
    for (const p of held) p.reject(e);
  }

  /** Holds the event loop only while a script is in flight. */
  private refWhileBusy(child: ChildProcess): void {
    const busy = this.pending.length > 0;
    for (const s of [child.stdout, child.stdin] as const) {
      const h = s as unknown as { ref?: () => void; unref?: () => void } | null;
      if (busy) h?.ref?.();
      else h?.unref?.();
    }
    if (busy) child.ref();
    else child.unref();
  }
}

const helper = new Helper();

/** Applies `script` in one transaction through the helper (see the module comment). */
export function helperApply(script: string): Promise<HelperResult> {
  return helper.apply(script);
}
