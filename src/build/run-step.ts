/**
 * RUN: the command runs in a real container of the engine (runc, the engine's networking: bridge by
 * default, so it reaches the outside through the engine's NAT, or `--network`), its output goes to
 * the build's stream as it comes, and its changes (the overlayfs upper directory) become the step's
 * layer entries.
 *
 * Use: `const r = await runStep(containers, {...}, say)`; after the layer is stored, `r.remove()`.
 *
 * Beware: the container is an ordinary one while it runs (`docker ps` shows it, events fire), as
 * with dockerd's classic builder. Files that are mount points of every container (`/etc/hosts`,
 * `/etc/hostname`, `/etc/resolv.conf`, `/dev`, `/proc`, `/sys`) never enter the layer, and a
 * directory copied up only because such a mount point was made in it is left out too.
 */
import { join } from 'node:path';
import type { ContainerController } from '../engine/index.js';
import { upperEntries, type FsEntry } from '../images/index.js';
import type { ImageView } from './copy.js';

export type StepContainers = Pick<ContainerController, 'create' | 'start' | 'wait' | 'logs' | 'remove' | 'resolve'>;

export interface RunRequest {
  image: string;
  argv: string[];
  env: string[];
  workdir: string;
  user: string;
  networkMode: string;
  /** Resource limits and extra hosts of the build (`--memory`, `--add-host`...). */
  hostConfig: Record<string, unknown>;
}

export interface RunResult {
  containerId: string;
  exitCode: number;
  /** The container's changes as layer entries (empty: no change). */
  entries: FsEntry[];
}

const MOUNT_POINTS = new Set(['etc/hosts', 'etc/hostname', 'etc/resolv.conf', 'dev', 'proc', 'sys']);

export async function runStep(containers: StepContainers, req: RunRequest, image: ImageView, say: (text: string) => void): Promise<RunResult> {
  const { id } = await containers.create(undefined, {
    Image: req.image,
    Cmd: req.argv,
    Entrypoint: [],
    Env: req.env,
    WorkingDir: req.workdir,
    User: req.user,
    AttachStdout: true,
    AttachStderr: true,
    Healthcheck: { Test: ['NONE'] },
    HostConfig: { ...req.hostConfig, NetworkMode: req.networkMode },
  });
  say(` ---> Running in ${id.slice(0, 12)}\n`);
  const exited = containers.wait(id, 'next-exit');
  await containers.start(id);
  for await (const line of containers.logs(id, { stdout: true, stderr: true, follow: true })) say(line.data.toString('utf8'));
  const { StatusCode } = await exited;
  const entries = StatusCode === 0 ? await changes(join(containers.resolve(id).dir, 'upper'), image) : [];
  return { containerId: id, exitCode: StatusCode, entries };
}

async function changes(upper: string, image: ImageView): Promise<FsEntry[]> {
  const all = await upperEntries(upper, (rel) => MOUNT_POINTS.has(rel));
  const etc = all.find((e) => e.name === 'etc');
  if (!etc || all.some((e) => e.name.startsWith('etc/'))) return all;
  const st = await image.stat('/etc');
  const same = st?.isDirectory() && (st.mode & 0o7777) === etc.mode && st.uid === etc.uid && st.gid === etc.gid;
  return same ? all.filter((e) => e !== etc) : all; // copied up only for the /etc/hosts mount points
}
