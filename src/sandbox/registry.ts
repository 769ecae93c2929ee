/**
 * The sandbox's registry: Debian's `docker-registry` (distribution 2.8) in the world namespace as
 * `registry.test:5000` (the world DNS answers the name with 203.0.113.1), with TLS from a CA made
 * for this sandbox; the daemon trusts it through `--registry-certs-dir <exec-root>/certs.d` (the
 * certs.d layout: `registry.test:5000/ca.crt`). Optional htpasswd (Basic) auth.
 *
 * Use: `await ensureRegistry(paths, { htpasswd })` from `redes sandbox up`; `stopRegistry(paths)`
 * from `down` (by pid; `down` also kills whatever is left in the world namespace).
 *
 * Beware: the CA and the server key (EC P-256: fast to make) are made once per sandbox with openssl and kept in its
 * exec-root; images pushed live in `<data-root>/registry` and go with the sandbox.
 */
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { nsenterArgv, pidAlive, pidCmdline, readPidfile, startDetached, stopPid, writePidfile, run } from '../kernel/index.js';
import type { SandboxPaths } from './layout.js';

export const REGISTRY_NAME = 'registry.test';
export const REGISTRY_PORT = 5000;
export const REGISTRY_HOST = `${REGISTRY_NAME}:${REGISTRY_PORT}`;
const BINARY = '/usr/bin/docker-registry';

export interface RegistryPaths {
  dir: string;
  config: string;
  pid: string;
  log: string;
  certsDir: string;
  data: string;
}

export function registryPaths(p: SandboxPaths): RegistryPaths {
  const dir = join(p.execRoot, 'registry');
  return { dir, config: join(dir, 'config.yml'), pid: join(p.execRoot, 'registry.pid'), log: join(p.execRoot, 'registry.log'), certsDir: join(p.execRoot, 'certs.d'), data: join(p.dataRoot, 'registry') };
}

const exists = (f: string): Promise<boolean> => access(f).then(() => true, () => false);

/** CA, server certificate for registry.test (and 203.0.113.1), and the daemon's certs.d copy. */
async function ensureCerts(r: RegistryPaths, address: string): Promise<void> {
  const f = (n: string): string => join(r.dir, n);
  if (await exists(f('server.crt'))) return;
  await run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '3650', '-subj', '/CN=redes sandbox CA', '-keyout', f('ca.key'), '-out', f('ca.crt')]);
  await run(['openssl', 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${REGISTRY_NAME}`, '-keyout', f('server.key'), '-out', f('server.csr')]);
  await writeFile(f('server.ext'), `subjectAltName=DNS:${REGISTRY_NAME},IP:${address}\n`);
  await run(['openssl', 'x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '3650', '-extfile', f('server.ext'), '-out', f('server.crt')]);
  const trust = join(r.certsDir, REGISTRY_HOST);
  await mkdir(trust, { recursive: true });
  await run(['cp', f('ca.crt'), join(trust, 'ca.crt')]);
}

function configYaml(r: RegistryPaths, address: string, htpasswd: string | undefined): string {
  const auth = htpasswd ? `auth:\n  htpasswd:\n    realm: redes-sandbox\n    path: ${htpasswd}\n` : '';
  return `version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: ${r.data}
  delete:
    enabled: true
http:
  addr: ${address}:${REGISTRY_PORT}
  tls:
    certificate: ${join(r.dir, 'server.crt')}
    key: ${join(r.dir, 'server.key')}
${auth}`;
}

async function isOurRegistry(pid: number, r: RegistryPaths): Promise<boolean> {
  const argv = await pidCmdline(pid);
  return !!argv && argv.includes(BINARY) && argv.includes(r.config);
}

/** Start the registry unless ours is running; returns its pid and whether it was started now. */
export async function ensureRegistry(p: SandboxPaths, address: string, opts: { htpasswd?: string } = {}): Promise<{ pid: number; started: boolean }> {
  const r = registryPaths(p);
  const old = await readPidfile(r.pid);
  if (old !== undefined && (await pidAlive(old)) && (await isOurRegistry(old, r))) return { pid: old, started: false };
  await mkdir(r.dir, { recursive: true, mode: 0o700 });
  await mkdir(r.data, { recursive: true });
  await ensureCerts(r, address);
  await writeFile(r.config, configYaml(r, address, opts.htpasswd));
  const pid = await startDetached(nsenterArgv(p.worldNetns, [BINARY, 'serve', r.config]), { logPath: r.log });
  await writePidfile(r.pid, pid);
  return { pid, started: true };
}

export async function stopRegistry(p: SandboxPaths): Promise<void> {
  const r = registryPaths(p);
  const pid = await readPidfile(r.pid);
  if (pid !== undefined && (await pidAlive(pid)) && (await isOurRegistry(pid, r))) await stopPid(pid, { graceMs: 2_000 });
}
