/**
 * The uplink proxy as a program (see uplink.ts): `node uplink-proxy.js --socket S --sandbox N`.
 * Prints `ready` once it listens, then writes only to stderr; SIGTERM ends it.
 *
 * Beware: it runs in the namespace of whoever ran `redes sandbox up --uplink`, on purpose.
 */
import { parseArgs } from 'node:util';
import { serveUplink } from './uplink.js';

const { values } = parseArgs({ options: { socket: { type: 'string' }, sandbox: { type: 'string' } } });
process.on('SIGTERM', () => process.exit(0));
process.stdout.on('error', () => undefined);
if (!values.socket) {
  process.stderr.write('uplink-proxy: --socket is required\n');
  process.exit(2);
}
serveUplink(values.socket).catch((e: unknown) => {
  process.stderr.write(`uplink-proxy (sandbox ${values.sandbox ?? '?'}): ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
