/**
 * Reads keys of a lab's own etcd (`redes lab up --etcd`) for e2e checks: run as a program in the
 * lab's LAN namespace (`lab.lan([process.execPath, LAB_ETCD_KEYS, lab.name, 'ipam/'])`), it prints
 * the keys under `/redes/<lab>/<prefix>` (relative to the cluster root) and their values as one JSON
 * object. A client runs inside the lab's namespaces only, never in the machine's own.
 *
 * Beware: TLS files are the engines' (the lab directory's pki/); read-only.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export const LAB_ETCD_KEYS = fileURLToPath(import.meta.url);

/** Parses what the program printed. */
export function parseKeys(stdout: string): Record<string, string> {
  return JSON.parse(stdout) as Record<string, string>;
}

async function main(lab: string, prefix: string): Promise<void> {
  const pki = `/run/redes-lab/${lab}/etcd/pki`;
  const { Etcd3 } = await import('etcd3');
  const client = new Etcd3({
    hosts: ['https://198.51.100.1:2379'],
    credentials: { rootCertificate: await readFile(`${pki}/ca.crt`), certChain: await readFile(`${pki}/client.crt`), privateKey: await readFile(`${pki}/client.key`) },
  });
  try {
    process.stdout.write(JSON.stringify(await client.namespace(`/redes/${lab}/`).getAll().prefix(prefix).strings()));
  } finally {
    client.close();
  }
}

if (process.argv[1] === LAB_ETCD_KEYS) {
  const [lab, prefix] = process.argv.slice(2);
  if (!lab || prefix === undefined) {
    process.stderr.write('usage: lab-etcd-keys LAB PREFIX\n');
    process.exit(2);
  }
  await main(lab, prefix);
}
