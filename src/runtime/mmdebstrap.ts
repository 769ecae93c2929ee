/**
 * Running Debian's `mmdebstrap` to make a root filesystem tarball from Debian's archive: the base of
 * `redes image debian` (images/debian.ts keeps the cache and turns the tarball into an image).
 *
 * Use: `await mmdebstrapTar({ suite: 'bookworm', packages: ['nginx-light'], out, debCache, onLine })`.
 *
 * Beware:
 * - It runs on the machine itself, like apt-get: it needs Debian's archive, so never inside a
 *   sandbox (whose world has no archive). It needs root (mode `root`, a chroot under $TMPDIR).
 * - Every argument is validated here (suite, packages, mirror URL) and passed as one argv element;
 *   the only shell snippets mmdebstrap runs are the constant hooks below, which name nothing the
 *   user gave. The deb cache directory is ours (no spaces), synced in and out with mmdebstrap's
 *   special hooks so that a second build downloads only packages it has not seen.
 * - Recommends are not installed (mmdebstrap's default); man pages, docs, locales and info pages are
 *   excluded with dpkg path filters (these and force-unsafe-io stay in the image's dpkg.cfg.d, so a
 *   later `apt-get install` in a container keeps the image small too); merged /usr comes from the `merged-usr` hook, which spares the
 *   `usrmerge` package and the perl it would pull in.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { invalidParameter } from '../util/index.js';

export const MMDEBSTRAP = '/usr/bin/mmdebstrap';
export const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
const SECURITY_MIRROR = 'http://deb.debian.org/debian-security';
const MERGED_USR_HOOKS = '/usr/share/mmdebstrap/hooks/merged-usr';
/** Suites that have `-updates` and `-security` companions on deb.debian.org. */
const STABLE_LIKE = new Set(['bullseye', 'bookworm', 'trixie', 'oldstable', 'stable']);

const SUITE = /^[a-z][a-z0-9-]{1,30}$/;
const PACKAGE = /^[a-z0-9][a-z0-9+.-]{1,80}$/;
const MIRROR = /^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?(\/[A-Za-z0-9._~%/+-]*)?$/;

const EXCLUDED_PATHS = ['/usr/share/man/*', '/usr/share/doc/*', '/usr/share/locale/*', '/usr/share/info/*', '/usr/share/lintian/*'];

export interface MmdebstrapOptions {
  suite: string;
  /** Packages installed on top of the `apt` variant (Essential:yes and apt). */
  packages: readonly string[];
  /** Where the uncompressed tarball goes (created; the directory must exist). */
  out: string;
  /** A directory of .deb files kept between builds. */
  debCache: string;
  mirror?: string;
  /** Seconds since the epoch written as every file's time (SOURCE_DATE_EPOCH). */
  sourceDateEpoch: number;
  /** Each line mmdebstrap prints (its progress, on stderr). */
  onLine?: (line: string) => void;
  /** Default 30 minutes. */
  timeoutMs?: number;
}

/** Refuse what cannot be a Debian suite, package name or mirror URL (Debian policy's name rules). */
export function validateDebianInput(suite: string, packages: readonly string[], mirror?: string): void {
  if (!SUITE.test(suite)) throw invalidParameter('debian.suite', `invalid suite "${suite}": expected a Debian suite name such as bookworm`);
  for (const p of packages) {
    if (!PACKAGE.test(p)) throw invalidParameter('debian.package', `invalid package name "${p}"`);
  }
  if (mirror !== undefined && !MIRROR.test(mirror)) throw invalidParameter('debian.mirror', `invalid mirror "${mirror}": expected an http(s) URL`);
}

/** The sources mmdebstrap gets: the suite, plus its -updates and -security suites for stable ones. */
export function debianSources(suite: string, mirror = DEFAULT_MIRROR): string[] {
  const lines = [`deb ${mirror} ${suite} main`];
  if (STABLE_LIKE.has(suite)) {
    lines.push(`deb ${mirror} ${suite}-updates main`);
    if (mirror === DEFAULT_MIRROR) lines.push(`deb ${SECURITY_MIRROR} ${suite}-security main`);
  }
  return lines;
}

/** mmdebstrap's argument vector (without the program). Exported for the unit test. */
export function mmdebstrapArgs(o: Pick<MmdebstrapOptions, 'suite' | 'packages' | 'out' | 'debCache' | 'mirror'>): string[] {
  validateDebianInput(o.suite, o.packages, o.mirror);
  if (!/^\/[A-Za-z0-9._/-]+$/.test(o.debCache)) throw invalidParameter('debian.cache', `invalid deb cache directory "${o.debCache}"`);
  return [
    '--mode=root',
    '--variant=apt',
    '--format=tar',
    ...(o.packages.length ? [`--include=${o.packages.join(',')}`] : []),
    `--hook-dir=${MERGED_USR_HOOKS}`,
    ...EXCLUDED_PATHS.map((p) => `--dpkgopt=path-exclude=${p}`),
    // No fsync per file while installing (Docker's Debian images ship the same dpkg setting).
    '--dpkgopt=force-unsafe-io',
    // Keep the downloaded debs in the chroot until the end, then copy new ones to our cache.
    '--skip=essential/unlink',
    '--setup-hook=mkdir -p "$1/var/cache/apt/archives/"',
    `--setup-hook=sync-in ${o.debCache} /var/cache/apt/archives/`,
    `--customize-hook=sync-out /var/cache/apt/archives ${o.debCache}`,
    // The engine writes these per container; an image carrying the build host's copies would leak them.
    '--customize-hook=rm -f "$1/etc/resolv.conf" "$1/etc/hostname"',
    o.suite,
    o.out,
    ...debianSources(o.suite, o.mirror),
  ];
}

/** Run mmdebstrap; resolves when the tarball is complete, rejects with its last lines otherwise. */
export async function mmdebstrapTar(o: MmdebstrapOptions): Promise<void> {
  const args = mmdebstrapArgs(o);
  await mkdir(o.debCache, { recursive: true });
  const tail: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(MMDEBSTRAP, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SOURCE_DATE_EPOCH: String(o.sourceDateEpoch), DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C.UTF-8' },
      timeout: o.timeoutMs ?? 30 * 60_000,
      killSignal: 'SIGKILL',
    });
    let partial = '';
    const onData = (b: Buffer): void => {
      const lines = (partial + b.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        tail.push(l);
        if (tail.length > 20) tail.shift();
        o.onLine?.(l);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (e) => reject(new Error(`mmdebstrap: ${e.message} (install the mmdebstrap package)`)));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const why = signal ? `killed by ${signal}` : `exit code ${code}`;
      reject(new Error(`mmdebstrap ${o.suite} failed (${why}):\n${tail.join('\n')}`));
    });
  });
}
