/**
 * `redes image`: images made on this machine, loaded into a running daemon through
 * `POST /images/load` as `docker load` would, printing the daemon's lines (`Loaded image: ...`).
 *  - `busybox`: `busybox:latest` from this machine's busybox-static;
 *  - `debian`: a Debian rootfs from Debian's packages with mmdebstrap (images/debian.ts), with the
 *    defaults of a server package (nginx, Apache) when one is included; `--output FILE` writes the
 *    `docker save` archive instead of loading it;
 *  - `course`: the course's images at once: nginx, httpd and a Debian tagged `debian` and `ubuntu`.
 *
 * Use: `imageCommand(argv)` from `redes`; the daemon is found with --host, else DOCKER_HOST, else
 * redesd's default socket.
 *
 * Beware: `debian` and `course` run mmdebstrap on this machine (root, Debian's archive reachable),
 * not in a sandbox; only the finished archive goes to the daemon's socket. Only unix sockets are
 * supported (as by redesd). The daemon answers a load with 200 even when it fails; the failure is a
 * JSON `error` line in the stream, which makes the exit status 1.
 */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { busyboxImageTar, debianImage, splitWords, DEFAULT_SUITE, type DebianImageRequest } from '../images/index.js';
import { DEFAULT_HOST, parseDaemonCommand, type SubcommandValues } from './daemon-subcommand.js';
import { daemonRequest, messageOf } from './daemon-client.js';

const USAGE = `Usage: redes image COMMAND [OPTIONS]

Commands:
  busybox   Build busybox:latest from this machine's busybox-static and load it into the daemon
  debian    Build an image from Debian packages (mmdebstrap) and load it into the daemon
  course    Build and load the course's images: nginx, httpd, debian (also tagged ubuntu)

Options:
  -H, --host unix://PATH   Daemon socket (default: $DOCKER_HOST, else ${DEFAULT_HOST})
  -h, --help               Print this help

Options of debian:
  -t, --tag NAME[:TAG]     Name of the image (required)
      --suite SUITE        Debian suite (default ${DEFAULT_SUITE})
      --include PKG,...    Packages to install (repeatable); nginx-light or apache2 make the image
                           run that server in the foreground on port 80, as Docker Hub's nginx and httpd
      --cmd CMD            Default command: a JSON array, or words split as a shell would (no shell runs)
      --expose PORT[/PROTO]  Port to expose (repeatable)
      --mirror URL         Debian mirror (default http://deb.debian.org/debian)
      --rebuild            Build again even when the cache has this package set
      --output FILE        Write the image as a docker save archive instead of loading it

Built root filesystems are cached in /var/cache/redes/images (REDES_IMAGE_CACHE overrides it).
`;

interface StreamLine {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/** The course's images: the tag, and what to install. */
const COURSE: { tags: string[]; packages: string[] }[] = [
  { tags: ['nginx:latest'], packages: ['nginx-light'] },
  { tags: ['httpd:latest'], packages: ['apache2'] },
  { tags: ['debian:bookworm', 'debian:latest', 'ubuntu:latest'], packages: ['iproute2', 'iputils-ping'] },
];

const DEBIAN_OPTIONS = {
  tag: { type: 'string', short: 't' },
  suite: { type: 'string' },
  include: { type: 'string', multiple: true },
  cmd: { type: 'string' },
  expose: { type: 'string', multiple: true },
  mirror: { type: 'string' },
  rebuild: { type: 'boolean' },
  output: { type: 'string' },
} as const;

export async function imageCommand(argv: string[]): Promise<number> {
  const p = parseDaemonCommand(argv, { name: 'redes image', subcommands: ['busybox', 'debian', 'course'], usage: USAGE, options: DEBIAN_OPTIONS });
  if ('exit' in p) return p.exit;
  const given = Object.keys(p.values).filter((k) => p.values[k] !== undefined);
  const allowed = p.sub === 'debian' ? given : p.sub === 'course' ? ['suite', 'mirror', 'rebuild'] : [];
  const stray = given.find((k) => !allowed.includes(k));
  if (stray) {
    process.stderr.write(`redes image ${p.sub}: unknown flag --${stray}\n\n${USAGE}`);
    return 2;
  }
  try {
    if (p.sub === 'busybox') return await loadInto(p.socketPath, Readable.from([await busyboxImageTar()]), 'busybox');
    if (p.sub === 'course') return await course(p.socketPath, p.values);
    return await debian(p.socketPath, p.values);
  } catch (e) {
    process.stderr.write(`redes image ${p.sub}: ${(e as Error).message}\n`);
    return 1;
  }
}

const str = (v: SubcommandValues[string]): string | undefined => (typeof v === 'string' ? v : undefined);
const list = (v: SubcommandValues[string]): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const progress = (line: string): void => void process.stderr.write(`${line}\n`);

/** \`--cmd '["nginx","-g","daemon off;"]'\` or \`--cmd 'nginx -g "daemon off;"'\`. */
export function parseCmd(s: string): string[] {
  if (s.trimStart().startsWith('[')) {
    const v: unknown = JSON.parse(s);
    if (!Array.isArray(v) || !v.every((x): x is string => typeof x === 'string') || v.length === 0) {
      throw new Error(`invalid --cmd ${JSON.stringify(s)}: expected a JSON array of strings`);
    }
    return v;
  }
  const words = splitWords(s);
  if (words.length === 0) throw new Error('invalid --cmd: empty');
  return words;
}

async function debian(socketPath: string, v: SubcommandValues): Promise<number> {
  const tag = str(v.tag);
  if (!tag) throw new Error('--tag NAME[:TAG] is required');
  const cmd = str(v.cmd);
  const req: DebianImageRequest = {
    tag,
    suite: str(v.suite),
    packages: list(v.include).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean),
    ...(cmd !== undefined ? { cmd: parseCmd(cmd) } : {}),
    expose: list(v.expose),
    mirror: str(v.mirror),
    rebuild: v.rebuild === true,
    onLine: progress,
  };
  const img = await debianImage(req);
  progress(`${img.ref}: ${img.id}${img.rootfs.cached ? ' (rootfs from the cache)' : ''}`);
  const out = str(v.output);
  if (out !== undefined) {
    await pipeline(img.archive(), createWriteStream(out));
    process.stdout.write(`Wrote ${img.ref} to ${out}\n`);
    return 0;
  }
  return loadInto(socketPath, img.archive(), 'debian');
}

async function course(socketPath: string, v: SubcommandValues): Promise<number> {
  for (const c of COURSE) {
    const [first, ...more] = c.tags;
    if (!first) continue;
    const img = await debianImage({ tag: first, packages: c.packages, suite: str(v.suite), mirror: str(v.mirror), rebuild: v.rebuild === true, onLine: progress });
    if ((await loadInto(socketPath, img.archive(), 'course')) !== 0) return 1;
    for (const t of more) await tagImage(socketPath, img.id, t);
    for (const t of more) process.stdout.write(`Tagged image: ${t}\n`);
  }
  return 0;
}

/** POST the archive (streamed) and echo the daemon's lines; 0 when it reported no error. */
async function loadInto(socketPath: string, tar: Readable, what: string): Promise<number> {
  const { status, body } = await daemonRequest(socketPath, 'POST', '/images/load?quiet=1', { body: tar, headers: { 'Content-Type': 'application/x-tar' } });
  if (status !== 200) throw new Error(`daemon answered ${status}: ${messageOf(body)}`);
  let failed = false;
  for (const text of body.split(/\r?\n/)) {
    if (!text.trim()) continue;
    const line = JSON.parse(text) as StreamLine;
    if (line.error || line.errorDetail) {
      process.stderr.write(`redes image ${what}: ${line.errorDetail?.message ?? line.error}\n`);
      failed = true;
    } else if (line.stream) process.stdout.write(line.stream);
    else if (line.status) process.stdout.write(`${line.status}\n`);
  }
  return failed ? 1 : 0;
}

/** `docker tag`: POST /images/{id}/tag. */
async function tagImage(socketPath: string, id: string, ref: string): Promise<void> {
  const i = ref.lastIndexOf(':');
  const q = new URLSearchParams({ repo: ref.slice(0, i), tag: ref.slice(i + 1) });
  const { status, body } = await daemonRequest(socketPath, 'POST', `/images/${encodeURIComponent(id)}/tag?${q}`);
  if (status !== 201) throw new Error(`tag ${ref}: daemon answered ${status}: ${messageOf(body)}`);
}
