/**
 * testcontainers-node 11.14 against a redesd, one JSON line per step.
 *
 * Use: DOCKER_HOST=unix:///run/redes/N/docker.sock TESTCONTAINERS_RYUK_DISABLED=true
 *   node dist/test/clients/testcontainers-check.js PREFIX, inside the sandbox's host namespace only
 *   (`redes sandbox exec N -- ...`): this machine has /.dockerenv, so testcontainers believes it runs
 *   in a container and connects to mapped ports through the default bridge's gateway (172.17.0.1),
 *   which in the sandbox's host namespace is the daemon's own bridge. The e2e test
 *   test/e2e/clients-node.test.ts asserts on the lines.
 * Beware: Ryuk (the reaper) is disabled: its image (testcontainers/ryuk) cannot be pulled here, so the
 *   last step stops and removes what this script started.
 */
import { GenericContainer, Network, Wait, getContainerRuntimeClient, type StartedTestContainer, type StartedNetwork } from 'testcontainers';

const PREFIX = process.argv[2] ?? 'tcn';
const started: StartedTestContainer[] = [];
let network: StartedNetwork | undefined;

function emit(step: string, ok: boolean, facts: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ step, ok, ...facts })}\n`);
}

const steps: Record<string, () => Promise<Record<string, unknown>>> = {
  async runtime() {
    const client = await getContainerRuntimeClient();
    const rt = client.info.containerRuntime;
    return { host: rt.host, host_ips: rt.hostIps.map((h) => h.address), socket: rt.remoteSocketPath, server: rt.serverVersion, os_type: rt.operatingSystemType, cpus: rt.cpus };
  },

  async generic() {
    network = await new Network().start();
    const web = await new GenericContainer('busybox')
      .withName(`${PREFIX}-web`)
      .withCommand(['httpd', '-f', '-p', '80', '-h', '/www'])
      .withCopyContentToContainer([{ content: `hello from ${PREFIX}\n`, target: '/www/index.html' }])
      .withExposedPorts(80)
      .withNetwork(network)
      .withNetworkAliases('webalias')
      .withLabels({ tcn: 'web' })
      .withWaitStrategy(Wait.forHttp('/', 80).forStatusCode(200))
      .withStartupTimeout(60_000)
      .start();
    started.push(web);
    const port = web.getMappedPort(80);
    const body = await fetch(`http://${web.getHost()}:${port}/`).then((r) => r.text());
    const ex = await web.exec(['sh', '-c', 'cat /www/index.html; echo to-err >&2; exit 2']);
    return {
      host: web.getHost(), port, body, exec_code: ex.exitCode, exec_stdout: ex.stdout, exec_stderr: ex.stderr,
      name: web.getName(), network_ip: web.getIpAddress(network.getName()), networks: web.getNetworkNames(),
    };
  },

  async alias() {
    const cli = await new GenericContainer('busybox')
      .withName(`${PREFIX}-cli`)
      .withCommand(['sleep', '300'])
      .withNetwork(network!)
      .start();
    started.push(cli);
    const got = await cli.exec(['timeout', '5', 'wget', '-qO-', 'http://webalias/']);
    // The server's logs as a stream (busybox httpd -f logs nothing: the stream just has to open).
    const logs = await started[0]!.logs();
    logs.destroy();
    return { code: got.exitCode, body: got.output };
  },

  async teardown() {
    const stopped = [];
    for (const c of started.reverse()) stopped.push((await c.stop({ remove: true })).getId().length);
    await network?.stop();
    return { stopped: stopped.length };
  },
};

for (const [step, fn] of Object.entries(steps)) {
  try {
    emit(step, true, await fn());
  } catch (e) {
    const err = e as Error;
    emit(step, false, { error: err.message, stack: err.stack?.split('\n').slice(0, 6).join('\n') });
  }
}
emit('done', true, {});
