/**
 * The cluster's X.509 material, made with the `openssl` program: a self-signed cluster CA, node keys
 * with certificate requests, and node certificates signed by the CA (server and client use, with the
 * node's IP addresses as subject alternative names, as etcd's TLS peers and the join endpoint need).
 *
 * Use: `const ca = await makeCa('redes-swarm-ca')`; on a node `const req = await makeKeyAndCsr(nodeId,
 * 'swarm-manager')`; on the manager `await signCsr(ca, req.csr, { ips: ['198.51.100.12'] })`.
 *
 * Beware:
 * - openssl (3.x) instead of an X.509 library: it is already a system dependency, it is the reference
 *   implementation, and three spawns (~10 ms each) per node are cheap next to a cluster join.
 * - Private keys go through a private temporary directory (mode 0700) that is removed at once; the
 *   caller decides where they live afterwards (PEM strings in, PEM strings out).
 * - The CSR's subject is not trusted by `signCsr`: the signer sets CN and OU itself.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate, randomInt } from 'node:crypto';
import { run } from '../../kernel/index.js';

export interface CaMaterial {
  certPem: string;
  keyPem: string;
}

export interface KeyAndCsr {
  keyPem: string;
  csrPem: string;
}

/** Subject fields are limited to a safe alphabet: they end up in an openssl `-subj` argument. */
const SUBJECT_PART = /^[A-Za-z0-9._-]{1,64}$/;

function checkSubject(...parts: string[]): void {
  for (const p of parts) if (!SUBJECT_PART.test(p)) throw new Error(`invalid certificate subject part ${JSON.stringify(p)}`);
}

async function inTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'redes-pki-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function genKey(path: string): Promise<void> {
  await run(['openssl', 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
}

/** A new self-signed CA (P-256, 20 years, CN `commonName`). */
export async function makeCa(commonName: string): Promise<CaMaterial> {
  checkSubject(commonName);
  return inTempDir(async (dir) => {
    const key = join(dir, 'ca.key');
    const cert = join(dir, 'ca.crt');
    await genKey(key);
    await run([
      'openssl', 'req', '-x509', '-new', '-key', key, '-subj', `/CN=${commonName}`, '-days', '7300', '-sha256',
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      '-out', cert,
    ]);
    return { certPem: await readFile(cert, 'utf8'), keyPem: await readFile(key, 'utf8') };
  });
}

/** A node key and a certificate request for it. */
export async function makeKeyAndCsr(commonName: string, unit: string): Promise<KeyAndCsr> {
  checkSubject(commonName, unit);
  return inTempDir(async (dir) => {
    const key = join(dir, 'node.key');
    const csr = join(dir, 'node.csr');
    await genKey(key);
    await run(['openssl', 'req', '-new', '-key', key, '-subj', `/CN=${commonName}/OU=${unit}`, '-out', csr]);
    return { keyPem: await readFile(key, 'utf8'), csrPem: await readFile(csr, 'utf8') };
  });
}

export interface SignOptions {
  commonName: string;
  unit: string;
  /** IP addresses the certificate is valid for (besides 127.0.0.1). */
  ips: string[];
  days?: number;
}

const IP = /^[0-9a-fA-F:.]{2,45}$/;

/** Signs a node's certificate request with the CA, setting subject and names itself. */
export async function signCsr(ca: CaMaterial, csrPem: string, opts: SignOptions): Promise<string> {
  checkSubject(opts.commonName, opts.unit);
  for (const ip of opts.ips) if (!IP.test(ip)) throw new Error(`invalid certificate address ${JSON.stringify(ip)}`);
  return inTempDir(async (dir) => {
    const [caCert, caKey, csr, ext, out] = ['ca.crt', 'ca.key', 'node.csr', 'ext.cnf', 'node.crt'].map((f) => join(dir, f)) as [string, string, string, string, string];
    await writeFile(caCert, ca.certPem);
    await writeFile(caKey, ca.keyPem, { mode: 0o600 });
    await writeFile(csr, csrPem);
    const sans = ['IP:127.0.0.1', ...new Set(opts.ips)].map((s) => (s.startsWith('IP:') ? s : `IP:${s}`));
    await writeFile(ext, [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth,clientAuth',
      `subjectAltName=${sans.join(',')}`,
      '',
    ].join('\n'));
    await run([
      'openssl', 'x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-set_serial', `0x${randomSerial()}`,
      '-days', String(opts.days ?? 90), '-sha256', '-subj', `/CN=${opts.commonName}/OU=${opts.unit}`,
      '-extfile', ext, '-out', out,
    ]);
    return readFile(out, 'utf8');
  });
}

function randomSerial(): string {
  return Array.from({ length: 16 }, () => randomInt(16).toString(16)).join('').replace(/^0/, '1');
}

/** Subject CN, OU and expiry of a PEM certificate. */
export function describeCert(pem: string): { commonName: string; unit: string; notAfter: string; issuer: string } {
  const c = new X509Certificate(pem);
  const field = (s: string, k: string): string => s.split('\n').find((l) => l.startsWith(`${k}=`))?.slice(k.length + 1) ?? '';
  return { commonName: field(c.subject, 'CN'), unit: field(c.subject, 'OU'), notAfter: new Date(c.validTo).toISOString(), issuer: field(c.issuer, 'CN') };
}

/** True when `certPem` was signed by the CA certificate `caPem`. */
export function signedBy(certPem: string, caPem: string): boolean {
  const c = new X509Certificate(certPem);
  const ca = new X509Certificate(caPem);
  return c.checkIssued(ca) && c.verify(ca.publicKey);
}
