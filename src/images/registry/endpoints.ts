/**
 * Where a repository lives and how to talk to it, as dockerd decides: docker.io names go to
 * `--registry-mirror`s first, then registry-1.docker.io; `--insecure-registry HOST[:PORT]|CIDR`
 * allows plain HTTP and unverified TLS; `<certs-dir>/<host:port>/` holds `*.crt` CA files and a
 * client `*.cert`/`*.key` pair (dockerd's /etc/docker/certs.d layout). Names are resolved with the
 * nameservers of the daemon's resolv.conf (a sandbox's world DNS) instead of the machine's.
 *
 * Use: `const reg = new Registries(opts)`; `await reg.endpoints('registry.test:5000')`.
 *
 * Beware: an insecure registry is tried over https first, then http, as dockerd does; localhost
 * and 127.0.0.0/8 are insecure by default.
 */
import { readdir, readFile } from 'node:fs/promises';
import { Resolver } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import { join } from 'node:path';
import type { Endpoint } from './client.js';
import type { TlsOptions } from './http.js';

export const DOCKER_HUB = 'docker.io';
const HUB_ENDPOINT = 'registry-1.docker.io';

export interface RegistryOptions {
  mirrors?: string[];
  insecure?: string[];
  /** Default /etc/docker/certs.d. */
  certsDir?: string;
  /** A resolv.conf whose nameservers resolve registry names; the system resolver when absent. */
  resolvConf?: string;
  /** `--registry-uplink`: a unix socket of a CONNECT proxy that opens registry connections (and resolves their names). */
  uplink?: string;
}

/** `docker.io/library/nginx` → [`docker.io`, `library/nginx`]. */
export function splitName(name: string): [string, string] {
  const i = name.indexOf('/');
  return [name.slice(0, i), name.slice(i + 1)];
}

function ipv4InCidr(ip: string, cidr: string): boolean {
  const [net, bits] = cidr.split('/');
  const toInt = (a: string): number => a.split('.').reduce((n, o) => (n << 8) + Number(o), 0) >>> 0;
  if (!net || isIP(net) !== 4 || isIP(ip) !== 4) return false;
  const mask = Number(bits) === 0 ? 0 : (~0 << (32 - Number(bits))) >>> 0;
  return (toInt(ip) & mask) === (toInt(net) & mask);
}

export class Registries {
  private lookupFn: LookupFunction | undefined;
  private lookupReady: Promise<void> | undefined;

  constructor(readonly opts: RegistryOptions = {}) {}

  isInsecure(host: string, address?: string): boolean {
    const bare = host.replace(/:\d+$/, '');
    if (bare === 'localhost' || (isIP(bare) === 4 && bare.startsWith('127.'))) return true;
    for (const i of this.opts.insecure ?? []) {
      if (i === host || i === bare) return true;
      if (i.includes('/') && (ipv4InCidr(bare, i) || (address !== undefined && ipv4InCidr(address, i)))) return true;
    }
    return false;
  }

  /** The endpoints to try for a registry domain, in order. */
  async endpoints(domain: string): Promise<Endpoint[]> {
    const uplink = this.opts.uplink;
    const lookup = uplink ? undefined : await this.lookup();
    const out: Endpoint[] = [];
    const add = async (host: string, scheme: 'https' | 'http'): Promise<void> => {
      out.push({ host, scheme, lookup, tls: await this.tls(host), ...(uplink ? { uplink } : {}) });
    };
    if (domain === DOCKER_HUB) {
      for (const m of this.opts.mirrors ?? []) {
        const u = new URL(m);
        await add(u.host, u.protocol === 'http:' ? 'http' : 'https');
      }
      await add(HUB_ENDPOINT, 'https');
      return out;
    }
    await add(domain, 'https');
    if (this.isInsecure(domain)) {
      const last = out[out.length - 1];
      if (last) last.tls = { ...last.tls, skipVerify: true };
      await add(domain, 'http');
    }
    return out;
  }

  /** certs.d/<host>/: every `*.crt` is a CA, `client.cert` + `client.key` (any `X.cert`/`X.key`) a client pair. */
  private async tls(host: string): Promise<TlsOptions> {
    const dir = join(this.opts.certsDir ?? '/etc/docker/certs.d', host.replace(/[/\\]/g, '_'));
    const files = await readdir(dir).catch(() => [] as string[]);
    const ca: string[] = [];
    const tls: TlsOptions = {};
    for (const f of files.sort()) {
      if (f.endsWith('.crt')) ca.push(await readFile(join(dir, f), 'utf8'));
      else if (f.endsWith('.cert') && files.includes(f.replace(/\.cert$/, '.key'))) {
        tls.cert = await readFile(join(dir, f), 'utf8');
        tls.key = await readFile(join(dir, f.replace(/\.cert$/, '.key')), 'utf8');
      }
    }
    if (ca.length) tls.ca = ca;
    return tls;
  }

  /** How the daemon's own connections go out: the resolver and the uplink registry connections use. */
  async route(): Promise<{ lookup?: LookupFunction; uplink?: string }> {
    const uplink = this.opts.uplink;
    if (uplink) return { uplink };
    const lookup = await this.lookup();
    return lookup ? { lookup } : {};
  }

  private async lookup(): Promise<LookupFunction | undefined> {
    if (!this.opts.resolvConf) return undefined;
    this.lookupReady ??= (async () => {
      const text = await readFile(this.opts.resolvConf ?? '', 'utf8').catch(() => '');
      const servers = [...text.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1] ?? '').filter((s) => isIP(s));
      if (servers.length) this.lookupFn = resolverLookup(servers);
    })();
    await this.lookupReady;
    return this.lookupFn;
  }
}

/** A `lookup` for http(s) that asks `servers` (A records), not the machine's resolver. */
export function resolverLookup(servers: string[]): LookupFunction {
  const r = new Resolver({ timeout: 2000, tries: 2 });
  r.setServers(servers);
  return ((hostname: string, options: { all?: boolean } | number, cb: (...a: unknown[]) => void) => {
    const all = typeof options === 'object' && options.all;
    const done = (addrs: string[]): void => {
      if (all) cb(null, addrs.map((address) => ({ address, family: 4 })));
      else cb(null, addrs[0], 4);
    };
    if (isIP(hostname)) return done([hostname]);
    r.resolve4(hostname).then(done, () => {
      const e = Object.assign(new Error(`lookup ${hostname}: no such host`), { code: 'ENOTFOUND', hostname });
      cb(e);
    });
  }) as unknown as LookupFunction;
}
