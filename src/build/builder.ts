/**
 * `docker build` with the classic builder (`POST /build`): the context is unpacked, the Dockerfile
 * parsed and checked, then each instruction of each stage runs in order and is stored as an image
 * (an intermediate one, hidden from `docker images`) whose parent is the step before, which is what
 * `docker history` walks. A step whose cache key (parent image, instruction, resulting config,
 * source digests) names a stored image is not run again ("Using cache").
 *
 * Use: `await runBuild(deps, options, contextTar, output)`; the output callbacks receive Docker's
 * stream texts (`Step 1/5 : FROM busybox`, ` ---> Running in ...`), pull progress and the final id.
 *
 * Beware: errors thrown before the first output line are the request's errors (HTTP status);
 * later ones belong in the stream (the API handler decides). A failed RUN's container is kept
 * unless `forceRm`, as dockerd does, for debugging.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { shortImageId, unpackLayer, type Credentials, type JsonMessage, type LocalImageService } from '../images/index.js';
import { internal, invalidParameter, isRedesError, isSystemError } from '../util/index.js';
import { parseDockerfile } from './dockerfile.js';
import { DockerIgnore } from './dockerignore.js';
import { planStages } from './instructions.js';
import { SourceTree } from './source-tree.js';
import { StageRunner, type StageResult } from './stage.js';
import type { StepContainers } from './run-step.js';

export interface BuildOptions {
  /** Path of the Dockerfile in the context. */
  dockerfile: string;
  /** Familiar `name:tag` keys to tag the result with. */
  tags: string[];
  buildArgs: Record<string, string | null>;
  labels: Record<string, string>;
  noCache: boolean;
  pull: boolean;
  /** Remove RUN containers after a successful step (default true). */
  rm: boolean;
  /** Remove them even when the step fails. */
  forceRm: boolean;
  networkMode: string;
  target: string | undefined;
  quiet: boolean;
  /** Limits and extra hosts for RUN containers. */
  hostConfig: Record<string, unknown>;
  creds: (ref: string) => Credentials | undefined;
}

export interface BuildOutput {
  stream(text: string): void;
  progress(m: JsonMessage): void;
  aux(id: string): void;
}

export interface BuildDeps {
  images: LocalImageService;
  containers: StepContainers;
  /** A scratch directory of the daemon (context, mounts of other stages). */
  tmpRoot: string;
}

export async function runBuild(deps: BuildDeps, opts: BuildOptions, context: AsyncIterable<Buffer>, out: BuildOutput): Promise<string> {
  const dir = join(deps.tmpRoot, `build-${randomBytes(6).toString('hex')}`);
  await mkdir(join(dir, 'context'), { recursive: true });
  try {
    await unpackLayer(context, join(dir, 'context')).catch((e: unknown) => {
      // A full disk is the daemon's failure, told as dockerd does (`write /file: no space left on device`, a 500).
      throw isRedesError(e) || isSystemError(e) ? e : invalidParameter('build.context', `failed to read the build context: ${(e as Error).message}`);
    });
    const ignoreText = await readFile(join(dir, 'context', '.dockerignore'), 'utf8').catch(() => undefined);
    const tree = new SourceTree(join(dir, 'context'), DockerIgnore.parse(ignoreText));
    const dfFile = await tree.lookup(opts.dockerfile.replace(/^\.?\/+/, ''), true);
    if (!dfFile?.stat.isFile()) throw invalidParameter('dockerfile.missing', `Cannot locate specified Dockerfile: ${opts.dockerfile}`);
    const { instructions } = parseDockerfile(await readFile(dfFile.path, 'utf8'));
    const planned = planStages(instructions);
    const metaArgs = planned.metaArgs;
    let stages = planned.stages;
    if (opts.target) {
      const i = stages.findIndex((s) => s.name === opts.target?.toLowerCase());
      if (i < 0) throw invalidParameter('build.target', `failed to reach build target ${opts.target} in Dockerfile`);
      stages = stages.slice(0, i + 1);
    }
    const labelStep = Object.keys(opts.labels).length > 0 ? 1 : 0;
    const total = metaArgs.length + stages.reduce((n, s) => n + 1 + s.instructions.length, 0) + labelStep;
    const say = opts.quiet ? () => undefined : (t: string) => out.stream(t);
    const runner = new StageRunner({ ...deps, opts, context: tree, tmpDir: dir, say, progress: opts.quiet ? () => undefined : out.progress, total });
    runner.declareMetaArgs(metaArgs);
    const results: StageResult[] = [];
    for (const [i, s] of stages.entries()) {
      const last = i === stages.length - 1;
      results.push(await runner.stage(s, results, last && labelStep ? opts.labels : undefined));
    }
    const final = results[results.length - 1];
    if (!final?.imageId) throw internal('build.empty', 'the build produced no image');
    await deps.images.store.markBuilt(final.imageId);
    const unused = runner.unusedArgs();
    if (unused.length > 0) say(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed\n`);
    out.aux(final.imageId);
    if (opts.quiet) out.stream(`${final.imageId}\n`);
    say(`Successfully built ${shortImageId(final.imageId)}\n`);
    for (const t of opts.tags) {
      await deps.images.store.tag(final.imageId, t);
      say(`Successfully tagged ${t}\n`);
    }
    return final.imageId;
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}
