/**
 * `docker login` (`POST /auth`): check credentials against a registry's `/v2/` the way dockerd
 * does: answer its challenge (Basic, or a Bearer token fetched with the credentials) and expect 200.
 *
 * Beware: the daemon keeps no credentials; the CLI stores them and sends them with each pull/push
 * (X-Registry-Auth). docker.io's server address `https://index.docker.io/v1/` means Docker Hub.
 */
import { unauthorized } from './errors.js';
import { RepoClient, type Credentials } from './client.js';
import { DOCKER_HUB, type Registries } from './endpoints.js';

export async function loginRegistry(registries: Registries, server: string, creds: Credentials): Promise<void> {
  const host = !server || /(^|\/\/)(index\.)?docker\.io(\/|$)/.test(server) ? DOCKER_HUB : server.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  const endpoints = await registries.endpoints(host);
  let last: unknown;
  for (const ep of endpoints) {
    const c = new RepoClient(ep, '', creds);
    try {
      const res = await c.request('GET', '', {}, undefined, new URL(`${ep.scheme}://${ep.host}/v2/`));
      res.resume();
      if (res.statusCode === 200) return;
      throw unauthorized(`login attempt to ${ep.scheme}://${ep.host}/v2/ failed with status: ${res.statusCode} ${res.statusMessage ?? ''}`.trim());
    } catch (e) {
      last = e;
      const code = (e as NodeJS.ErrnoException).code ?? '';
      if (!/^(ECONNREFUSED|ENOTFOUND|ECONNRESET|EHOSTUNREACH|ETIMEDOUT|EPROTO|ERR_SSL_WRONG_VERSION_NUMBER)$/.test(code)) break;
    }
  }
  if (last instanceof Error && last.name === 'RedesError') throw last;
  throw unauthorized(last instanceof Error ? last.message : String(last));
}
