/**
 * The shared front of `redes` subcommands that talk to a running daemon (`redes image ...`,
 * `redes firewall ...`): flags (-H/--host, -h/--help), one subcommand word, and the daemon's socket
 * (--host, else DOCKER_HOST, else redesd's default).
 */
import { parseArgs } from 'node:util';

export const DEFAULT_HOST = 'unix:///run/redes/redes/docker.sock';

/** Either what to do (the subcommand and the socket path), or the exit code to return at once. */
export type ParsedSubcommand = { sub: string; socketPath: string } | { exit: number };

export function parseDaemonSubcommand(argv: string[], cmd: { name: string; subcommands: readonly string[]; usage: string }): ParsedSubcommand {
  const fail = (msg: string): ParsedSubcommand => {
    process.stderr.write(`redes ${cmd.name}: ${msg}\n\n${cmd.usage}`);
    return { exit: 2 };
  };
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { host: { type: 'string', short: 'H' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    return fail((e as Error).message);
  }
  const [sub, ...extra] = parsed.positionals;
  if (parsed.values.help || sub === 'help') {
    process.stdout.write(cmd.usage);
    return { exit: 0 };
  }
  if (sub === undefined) return fail('missing command');
  if (!cmd.subcommands.includes(sub) || extra.length > 0) return fail(`unknown command ${JSON.stringify([sub, ...extra].join(' '))}`);
  const host = parsed.values.host ?? (process.env.DOCKER_HOST || DEFAULT_HOST);
  if (!host.startsWith('unix://') || host.length <= 'unix://'.length) {
    process.stderr.write(`redes ${cmd.name}: invalid host ${JSON.stringify(host)}: only unix://PATH sockets are supported\n`);
    return { exit: 2 };
  }
  return { sub, socketPath: host.slice('unix://'.length) };
}
