/**
 * The shared front of `redes` subcommands that talk to a running daemon (`redes image ...`,
 * `redes firewall ...`): flags (-H/--host, -h/--help), one subcommand word, and the daemon's socket
 * (--host, else DOCKER_HOST, else redesd's default).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export const DEFAULT_HOST = 'unix:///run/redes/redes/docker.sock';

/** A subcommand's own flags' values (strings, booleans, or lists of strings for `multiple` flags). */
export type SubcommandValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** Either what to do (the subcommand, the socket path, its flags), or the exit code to return at once. */
export type ParsedSubcommand = { sub: string; socketPath: string; values: SubcommandValues } | { exit: number };

export interface SubcommandSpec {
  name: string;
  subcommands: readonly string[];
  usage: string;
  /** Extra flags (node's parseArgs options), accepted with any subcommand. */
  options?: ParseArgsConfig['options'];
}

export function parseDaemonSubcommand(argv: string[], cmd: SubcommandSpec): ParsedSubcommand {
  const fail = (msg: string): ParsedSubcommand => {
    process.stderr.write(`redes ${cmd.name}: ${msg}\n\n${cmd.usage}`);
    return { exit: 2 };
  };
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...cmd.options, host: { type: 'string', short: 'H' }, help: { type: 'boolean', short: 'h' } },
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
  const { host: _h, help: _help, ...values } = parsed.values;
  return { sub, socketPath: host.slice('unix://'.length), values };
}
