/**
 * `redes sandbox ...`: the sub-CLI over sandbox.ts. `sandboxCommand` gets the arguments after
 * `sandbox` and returns the exit code; `bin/redes` wires it in.
 *
 * stdout carries only results (`up` prints exactly one line, for `eval "$(redes sandbox up)"`);
 * progress and errors go to stderr. Exit codes: 0 done, 1 failed, 2 usage; exec/world pass the
 * command's own code on.
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { DEFAULT_NAME, checkName } from './layout.js';
import { sandboxDown, sandboxExec, sandboxLan, sandboxList, sandboxUp, sandboxWorld } from './sandbox.js';

/** The tour of the course chapter: index pages in Spanish and English (dist/src/sandbox/ is 3 levels down). */
const TOUR_PAGES = [
  ['es', fileURLToPath(new URL('../../../docs/curso/README.md', import.meta.url))],
  ['en', fileURLToPath(new URL('../../../docs/course/README.md', import.meta.url))],
] as const;

const USAGE = `Usage: redes sandbox COMMAND

Isolated engine hosts with a simulated outside world.

Commands:
  up [--name N] [--lan] [--tour] [--log-level L] [--daemon-arg=FLAG]... [--no-registry] [--registry-htpasswd FILE] [--uplink]
                                          Create (or repair) sandbox N and start redesd in it, and the
                                          registry registry.test:5000 (TLS, trusted by the daemon) in its world;
                                          prints: export DOCKER_HOST=unix:///run/redes/N/docker.sock
                                          (--tour: also says, on stderr, where the course's tour starts;
                                          --uplink: the daemon's registry connections leave through the
                                          namespace where this runs, e.g. to reach Docker Hub; containers
                                          stay isolated)
  down N                                  Stop and remove everything of sandbox N
  ls                                      List sandboxes
  exec [N] -- CMD...                      Run CMD in the engine host namespace N
  world [N] -- CMD...                     Run CMD in the world namespace N-world
  lan [N] -- CMD...                       Run CMD in the lan namespace N-lan (made by up --lan)

Default N: $REDES_SANDBOX when set, else ${DEFAULT_NAME}. Names match ^[a-z][a-z0-9]{0,11}$.
`;

/** The sandbox a command means when it names none: $REDES_SANDBOX, else `redes`. */
function defaultName(): string {
  return process.env.REDES_SANDBOX || DEFAULT_NAME;
}

class UsageError extends Error {}

/** Run `redes sandbox ARGS...`; returns the process exit code. */
export async function sandboxCommand(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'up':
        return await up(rest);
      case 'down':
        return await down(rest);
      case 'ls':
      case 'list':
        return await ls(rest);
      case 'exec':
        return await execLike(rest, sandboxExec);
      case 'world':
        return await execLike(rest, sandboxWorld);
      case 'lan':
        return await execLike(rest, sandboxLan);
      case undefined:
      case 'help':
      case '-h':
      case '--help':
        process.stdout.write(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${cmd}"`);
    }
  } catch (e) {
    const usage = e instanceof UsageError || (e as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`redes sandbox: ${e instanceof Error ? e.message : String(e)}\n`);
    if (usage) process.stderr.write(`\n${USAGE}`);
    return usage ? 2 : 1;
  }
}

/** Positional-only arguments: at most `max` of them. */
function positionalsOf(args: string[], max: number): string[] {
  const r = parseArgs({ args, options: {}, allowPositionals: true, strict: true });
  if (r.positionals.length > max) throw new UsageError(`unexpected argument "${r.positionals[max] ?? ''}"`);
  return r.positionals;
}

async function up(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      name: { type: 'string', short: 'n' },
      lan: { type: 'boolean' },
      'log-level': { type: 'string' },
      'daemon-arg': { type: 'string', multiple: true },
      tour: { type: 'boolean' },
      'no-registry': { type: 'boolean' },
      'registry-htpasswd': { type: 'string' },
      uplink: { type: 'boolean' },
    },
    strict: true,
  });
  const name = values.name ?? defaultName();
  checkName(name);
  const r = await sandboxUp({
    name,
    lan: values.lan === true,
    logLevel: values['log-level'],
    ...(values['daemon-arg'] ? { daemonArgs: values['daemon-arg'] } : {}),
    registry: values['no-registry'] !== true,
    ...(values['registry-htpasswd'] ? { registryHtpasswd: values['registry-htpasswd'] } : {}),
    uplink: values.uplink === true,
  });
  process.stdout.write(`${r.exportLine}\n`);
  if (values.tour) {
    const pages = TOUR_PAGES.map(([lang, path]) => `  ${lang}: ${path}`).join('\n');
    process.stderr.write(`redes sandbox: the tour of the course chapter starts here (run its commands in this shell after eval):\n${pages}\n`);
  }
  return 0;
}

async function down(args: string[]): Promise<number> {
  const positionals = positionalsOf(args, 1);
  const name = positionals[0];
  if (!name) throw new UsageError('down needs a sandbox name');
  checkName(name);
  if (!(await sandboxDown(name))) process.stderr.write(`redes sandbox: sandbox "${name}" not found, nothing to remove\n`);
  return 0;
}

async function ls(args: string[]): Promise<number> {
  positionalsOf(args, 0);
  for (const s of await sandboxList()) {
    const pid = s.daemonPid === undefined ? '-' : String(s.daemonPid);
    process.stdout.write(`${s.name.padEnd(12)}  ${s.state.padEnd(12)}  ${pid.padEnd(8)}  ${s.dockerHost}${s.lan ? '  lan' : ''}\n`);
  }
  return 0;
}

/**
 * `exec [N] -- CMD...` (the `--` may be left out when CMD has no options before it; N may be left
 * out when `--` is given).
 */
async function execLike(args: string[], fn: (name: string, argv: string[]) => Promise<number>): Promise<number> {
  const dash = args.indexOf('--');
  const head = dash < 0 ? args.slice(0, 1) : args.slice(0, dash);
  const command = dash < 0 ? args.slice(1) : args.slice(dash + 1);
  const positionals = positionalsOf(head, 1);
  const name = positionals[0] ?? (dash >= 0 ? defaultName() : undefined);
  if (!name) throw new UsageError('a sandbox name is needed');
  if (command.length === 0) throw new UsageError('a command is needed after "--"');
  checkName(name);
  return fn(name, command);
}
