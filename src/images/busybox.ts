/**
 * A `busybox:latest` image made on this machine from Debian's busybox-static, since no registry is
 * reachable: /bin/busybox, a symlink per applet where `busybox --list-full` puts it (so sh, httpd,
 * nc, ping, wget, nslookup, ip are on PATH), minimal /etc files, and the usual empty directories.
 *
 * Use: `await ensureBusyboxImage(store)` at daemon start or before a test; `busyboxImageTar()` gives
 * the same image as a `docker save` tar for `docker load -i`.
 *
 * Beware: the image is deterministic (every timestamp is the busybox binary's mtime), so its id only
 * changes when Debian's package does. The binary must be static: the rootfs has no libc. When it is
 * missing or dynamic (the non-static `busybox` package), `apt-get install busybox-static` runs.
 */
import { readFile, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { isRedesError, unavailable } from '../util/index.js';
import { run } from '../kernel/index.js';
import { hostArchitecture, sha256 } from './spec.js';
import { packTar, type TarEntry } from './tar-write.js';
import type { ImageStore } from './store.js';
import type { Image } from './types.js';

export const BUSYBOX_REF = 'busybox:latest';
export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const BUSYBOX = '/bin/busybox';

const DIRS: [string, number][] = [
  ['bin', 0o755],
  ['dev', 0o755],
  ['etc', 0o755],
  ['home', 0o755],
  ['proc', 0o755],
  ['root', 0o700],
  ['sbin', 0o755],
  ['sys', 0o755],
  ['tmp', 0o1777],
  ['usr', 0o755],
  ['usr/bin', 0o755],
  ['usr/sbin', 0o755],
  ['usr/local', 0o755],
  ['usr/local/bin', 0o755],
  ['var', 0o755],
  ['var/www', 0o755],
];

const ETC: [string, string][] = [
  ['etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n'],
  ['etc/group', 'root:x:0:\nnobody:x:65534:\n'],
  ['etc/hosts', ''],
  ['etc/resolv.conf', ''],
  ['etc/hostname', ''],
];

/** True when the file is an ELF executable without a program interpreter (statically linked). */
export function isStaticElf(b: Buffer): boolean {
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46) return false;
  const is64 = b[4] === 2;
  const le = b[5] === 1;
  const u16 = (o: number): number => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const phoff = is64 ? Number(le ? b.readBigUInt64LE(32) : b.readBigUInt64BE(32)) : u32(28);
  const [entSize, count] = is64 ? [u16(54), u16(56)] : [u16(42), u16(44)];
  for (let i = 0; i < count; i++) {
    const off = phoff + i * entSize;
    if (off + 4 > b.length) return false;
    if (u32(off) === 3) return false; // PT_INTERP: needs a dynamic loader
  }
  return true;
}

async function staticBusybox(): Promise<Buffer | undefined> {
  const b = await readFile(BUSYBOX).catch(() => undefined);
  return b && isStaticElf(b) ? b : undefined;
}

/** The static busybox binary and its mtime, installing Debian's busybox-static when needed. */
async function busyboxBinary(): Promise<{ bytes: Buffer; mtime: Date }> {
  let bytes = await staticBusybox();
  if (!bytes) {
    await run(['apt-get', 'install', '-y', '--no-install-recommends', 'busybox-static'], {
      timeoutMs: 600_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    bytes = await staticBusybox();
  }
  if (!bytes) throw unavailable('image.busybox_missing', `${BUSYBOX} is missing or not static: install busybox-static`);
  const mtime = new Date(Math.floor((await stat(BUSYBOX)).mtimeMs / 1000) * 1000);
  return { bytes, mtime };
}

let rootfsCache: Promise<{ tar: Buffer; mtime: Date }> | undefined;

async function rootfs(): Promise<{ tar: Buffer; mtime: Date }> {
  const { bytes, mtime } = await busyboxBinary();
  const { stdout } = await run([BUSYBOX, '--list-full']);
  const applets = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.includes('/') && l !== 'bin/busybox' && !l.startsWith('/') && !l.includes('..'));
  const entries: TarEntry[] = [
    ...DIRS.map(([name, mode]): TarEntry => ({ name: `${name}/`, type: 'directory', mode, mtime })),
    { name: 'bin/busybox', content: bytes, mode: 0o755, mtime },
    ...applets.map((name): TarEntry => ({ name, type: 'symlink', linkname: BUSYBOX, mtime })),
    ...ETC.map(([name, content]): TarEntry => ({ name, content, mode: 0o644, mtime })),
  ];
  return { tar: await packTar(entries), mtime };
}

function busyboxRootfs(): Promise<{ tar: Buffer; mtime: Date }> {
  if (!rootfsCache) {
    rootfsCache = rootfs();
    rootfsCache.catch(() => (rootfsCache = undefined)); // a failed build is retried next time
  }
  return rootfsCache;
}

/** The busybox rootfs as an uncompressed tar (for `docker import`). Built once per process. */
export async function buildBusyboxRootfs(): Promise<Buffer> {
  return (await busyboxRootfs()).tar;
}

/** `busybox:latest` as a `docker save` tar: Cmd ["sh"] and the default PATH. */
export async function busyboxImageTar(): Promise<Buffer> {
  const { tar: layer, mtime } = await busyboxRootfs();
  const diffId = sha256(layer);
  const created = mtime.toISOString().replace('.000Z', 'Z');
  const config = Buffer.from(
    JSON.stringify({
      architecture: hostArchitecture(),
      config: { Env: [DEFAULT_PATH_ENV], Cmd: ['sh'] },
      created,
      history: [{ created, created_by: 'redes: busybox-static rootfs' }],
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [diffId] },
    }),
  );
  const configName = `${sha256(config).slice(7)}.json`;
  const layerName = `${diffId.slice(7)}/layer.tar`;
  const manifest = [{ Config: configName, RepoTags: [BUSYBOX_REF], Layers: [layerName] }];
  return packTar([
    { name: `${diffId.slice(7)}/`, type: 'directory' },
    { name: layerName, content: layer },
    { name: configName, content: config },
    { name: 'manifest.json', content: JSON.stringify(manifest) },
  ]);
}

/** Make `busybox:latest` present in `store` (a no-op when it already resolves). */
export async function ensureBusyboxImage(store: ImageStore): Promise<Image> {
  try {
    return store.resolve(BUSYBOX_REF);
  } catch (e) {
    if (!isRedesError(e) || e.kind !== 'not-found') throw e;
  }
  await store.load(Readable.from([await busyboxImageTar()]));
  return store.resolve(BUSYBOX_REF);
}
