/**
 * `docker exec`: exec instances (in memory, as dockerd keeps them) run inside a running container
 * through the runtime's exec shim. The process starts from the container's own process settings
 * (config.json): its capabilities, env and user, with the exec's command, env, user and directory.
 *
 * Beware: an exec's exit code is known only from its shim; the CLI reads it from exec inspect after
 * the stream ends, so a failed start records Docker's 126/127 before the error goes back.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execProcess, replaceOrAppendEnv, type OciProcess } from '../../runtime/index.js';
import { conflict, invalidParameter, notFound, newId, logger } from '../../util/index.js';
import { liveSession } from './attach-session.js';
import { strList } from './container-config.js';
import type { AttachSession, ContainerRecord, ExecRecord } from './container-types.js';
import { resolveUser } from './process-settings.js';
import { checkExecTypes } from './create-types.js';

const log = logger.child({ component: 'exec' });

/** What exec inspect reports when the exit code was lost (as for a container whose shim vanished). */
const LOST_EXIT_CODE = 255;

type LiveExec = ExecRecord & { resizeTo?: (h: number, w: number) => void };

export class ContainerExecs {
  private readonly execs = new Map<string, LiveExec>();

  constructor(
    private readonly runcRoot: string,
    private readonly containerById: (id: string) => ContainerRecord,
    /** Process files of execs being started (under the daemon's exec root, removed at start). */
    private readonly tmpDir?: string,
    /** Docker's exec events (exec_create, exec_start, exec_die) on the container. */
    private readonly emit?: (rec: ContainerRecord, action: string, extra: Record<string, string>) => void,
  ) {}

  async create(rec: ContainerRecord, body: unknown): Promise<string> {
    if (rec.state.status !== 'running') throw conflict('container.not_running', `container ${rec.id} is not running`);
    const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    checkExecTypes(b);
    const cmd = strList(b.Cmd, 'Cmd');
    if (cmd.length === 0) throw invalidParameter('exec.no_command', 'No exec command specified');
    const id = newId();
    this.execs.set(id, {
      id, containerId: rec.id, running: false, exitCode: null, pid: 0,
      openStdin: b.AttachStdin === true, openStdout: b.AttachStdout !== false, openStderr: b.AttachStderr !== false,
      tty: b.Tty === true, entrypoint: cmd[0] as string, arguments: cmd.slice(1), privileged: b.Privileged === true,
      user: typeof b.User === 'string' ? b.User : '', workingDir: typeof b.WorkingDir === 'string' ? b.WorkingDir : '',
      env: strList(b.Env, 'Env'), detachKeys: typeof b.DetachKeys === 'string' ? b.DetachKeys : '', canRemove: false,
    });
    // dockerd's action text: entrypoint, a space, the arguments joined (`true` reads "exec_create: true ").
    this.emit?.(rec, `exec_create: ${cmd[0] as string} ${cmd.slice(1).join(' ')}`, { execID: id });
    return id;
  }

  async start(execId: string, opts: { detach: boolean; tty: boolean; consoleSize?: [number, number] }): Promise<AttachSession | null> {
    const ex = this.get(execId);
    if (ex.running || ex.exitCode !== null) throw conflict('exec.already_started', `exec command ${execId} has already run`);
    const rec = this.containerById(ex.containerId);
    if (rec.state.status !== 'running') throw conflict('container.not_running', `container ${rec.id} is not running`);
    const base = (JSON.parse(await readFile(join(rec.dir, 'config.json'), 'utf8')) as { process: OciProcess }).process;
    const rootfs = join(rec.dir, 'rootfs');
    const processSpec: OciProcess = {
      ...base,
      args: [ex.entrypoint, ...ex.arguments],
      env: replaceOrAppendEnv(base.env, ex.env),
      cwd: ex.workingDir || base.cwd,
      user: ex.user ? await resolveUser(rootfs, ex.user) : base.user,
      terminal: ex.tty,
      ...(opts.consoleSize ? { consoleSize: { height: opts.consoleSize[0], width: opts.consoleSize[1] } } : {}),
    };
    // Output that is delivered must be read, or the process pauses: a detached exec asks for none.
    const p = await execProcess({
      id: rec.id, runcRoot: this.runcRoot, processSpec, tty: ex.tty, stdin: ex.openStdin && !opts.detach,
      stdout: !opts.detach, stderr: !opts.detach, ...(this.tmpDir ? { tmpDir: this.tmpDir } : {}),
    }).catch((e: unknown) => {
      // The CLI reads the exit code from exec inspect: Docker's 127 for a missing program, else 126.
      ex.exitCode = /not found|no such file/i.test(String((e as Error).message)) ? 127 : 126;
      throw e;
    });
    ex.running = true;
    ex.pid = p.pid;
    ex.resizeTo = (h, w) => p.stream.resize(h, w);
    this.emit?.(rec, `exec_start: ${ex.entrypoint} ${ex.arguments.join(' ')}`, { execID: ex.id });
    const died = (code: number): void => {
      ex.running = false;
      ex.exitCode = code;
      this.emit?.(rec, 'exec_die', { execID: ex.id, exitCode: String(code) });
    };
    p.exitCode.then(died, (e: unknown) => {
      // The shim vanished without an exit frame (killed from outside): the code is unknown.
      log.warn({ err: e, exec: execId, container: rec.id }, 'exec ended without an exit code');
      died(LOST_EXIT_CODE);
    });
    if (opts.detach) return null;
    // A client that leaves (or detaches with the detach keys) lets go of the output only: the
    // shim connection stays, so the process is never blocked and its exit code still arrives.
    return { ...liveSession(ex.tty, p.stream), close: () => p.stream.discardOutput() };
  }

  inspect(execId: string): ExecRecord {
    return this.get(execId);
  }

  resize(execId: string, height: number, width: number): void {
    this.get(execId).resizeTo?.(height, width);
  }

  private get(execId: string): LiveExec {
    const ex = this.execs.get(execId);
    if (!ex) throw notFound('exec.not_found', `No such exec instance: ${execId}`);
    return ex;
  }
}
