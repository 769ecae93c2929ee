/**
 * The shared front of `redes` commands that talk to a running daemon (`redes image ...`,
 * `redes firewall ...`, `redes audit`, `redes topology`): flags (-H/--host, -h/--help, and the
 * command's own), at most one subcommand word, and the daemon's socket (--host, else DOCKER_HOST,
 * else redesd's default; unix sockets only, as redesd serves).
 *
 * Use: `const p = parseDaemonCommand(argv, { name: 'redes firewall', subcommands: ['reload'], usage })`;
 * `if ('exit' in p) return p.exit;` then `p.sub`, `p.socketPath`, `p.values`.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export const DEFAULT_HOST = 'unix:///run/redes/redes/docker.sock';

/** A command's own flags' values (strings, booleans, or lists of strings for `multiple` flags). */
export type SubcommandValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** Either what to do (the subcommand, the socket path, its flags), or the exit code to return at once. */
export type ParsedSubcommand = { sub: string; socketPath: string; values: SubcommandValues } | { exit: number };

export interface SubcommandSpec {
  /** The command as its messages name it: `redes image`, `docker audit`. */
  name: string;
  /** The subcommand words; none means the command takes no word (then `sub` is ''). */
  subcommands?: readonly string[];
  usage: string;
  /** Extra flags (node's parseArgs options), accepted with any subcommand. */
  options?: ParseArgsConfig['options'];
}

/** The daemon's socket path from --host, else DOCKER_HOST, else redesd's default; undefined if not unix://. */
export function socketOf(host: string | undefined): string | undefined {
  const h = host ?? (process.env.DOCKER_HOST || DEFAULT_HOST);
  return h.startsWith('unix://') && h.length > 'unix://'.length ? h.slice('unix://'.length) : undefined;
}

export function parseDaemonCommand(argv: string[], cmd: SubcommandSpec): ParsedSubcommand {
  const fail = (msg: string): ParsedSubcommand => {
    process.stderr.write(`${cmd.name}: ${msg}\n\n${cmd.usage}`);
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
  const words = parsed.positionals;
  if (parsed.values.help || (cmd.subcommands && words[0] === 'help')) {
    process.stdout.write(cmd.usage);
    return { exit: 0 };
  }
  const subs = cmd.subcommands ?? [];
  if (subs.length === 0 && words.length > 0) return fail(`unexpected argument ${JSON.stringify(words.join(' '))}`);
  if (subs.length > 0 && words[0] === undefined) return fail('missing command');
  if (subs.length > 0 && (!subs.includes(words[0] ?? '') || words.length > 1)) return fail(`unknown command ${JSON.stringify(words.join(' '))}`);
  const socketPath = socketOf(typeof parsed.values.host === 'string' ? parsed.values.host : undefined);
  if (socketPath === undefined) {
    const host = parsed.values.host ?? (process.env.DOCKER_HOST || DEFAULT_HOST);
    process.stderr.write(`${cmd.name}: invalid host ${JSON.stringify(host)}: only unix://PATH sockets are supported\n`);
    return { exit: 2 };
  }
  const { host: _h, help: _help, ...values } = parsed.values;
  return { sub: words[0] ?? '', socketPath, values };
}
