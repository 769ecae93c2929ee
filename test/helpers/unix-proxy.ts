/**
 * A byte pipe from 127.0.0.1:<random port> to a unix socket, for a browser that cannot speak HTTP
 * over a unix socket. Run it inside the sandbox's host namespace (`nsenter --net=...`) so the port is
 * opened there and never in the machine's root namespace; it prints the port on its first line.
 *
 * Use: node dist/test/helpers/unix-proxy.js /run/redes/NAME/docker.sock
 */
import { connect, createServer } from 'node:net';

const socketPath = process.argv[2];
if (!socketPath) {
  process.stderr.write('usage: unix-proxy SOCKET\n');
  process.exit(2);
}
const server = createServer((client) => {
  const upstream = connect(socketPath);
  client.pipe(upstream).pipe(client);
  const close = (): void => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close);
  upstream.on('error', close);
  client.on('close', close);
  upstream.on('close', close);
});
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`${typeof addr === 'object' && addr ? addr.port : 0}\n`);
});
process.on('SIGTERM', () => process.exit(0));
