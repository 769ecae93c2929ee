/**
 * One build stage, instruction by instruction: FROM (a local image, an earlier stage, scratch, or a
 * pull), ARG scoping (global ARGs for FROM, redeclared ones inside, `--build-arg` over defaults),
 * config instructions through images' `applyInstruction`, WORKDIR (which also makes the directory),
 * RUN (run-step.ts), COPY/ADD (copy.ts), each step stored as an image with its history entry and
 * looked up in the build cache first. A base image's ONBUILD triggers run right after its FROM.
 *
 * Use: `new StageRunner(deps)`, `declareMetaArgs(args)`, then `stage(s, earlierResults)` per stage.
 *
 * Beware: history texts follow dockerd's (`/bin/sh -c #(nop)  ENV A=1`, `|1 V=2 /bin/sh -c make`,
 * `COPY file:<hex> in /app `). ADD unpacks local tar archives (plain or gzip) into the destination;
 * ADD of a URL downloads it (remote-source.ts) and never unpacks it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  applyInstruction,
  expandWord,
  hostArchitecture,
  mountRootfs,
  packEntries,
  splitWords,
  unmountRootfs,
  unpackLayer,
  type FsEntry,
  type Image,
  type ImageSpec,
  type JsonMessage,
} from '../images/index.js';
import { invalidParameter, isRedesError, isSystemError, nowRfc3339Nano, showPathsAs, wrapError } from '../util/index.js';
import type { BuildDeps, BuildOptions } from './builder.js';
import { ImageView, planCopy } from './copy.js';
import { parseDockerfile, type Instruction } from './dockerfile.js';
import { check, type Stage } from './instructions.js';
import { downloadSource, isUrlSource, type Downloaded } from './remote-source.js';
import { runStep } from './run-step.js';
import { SourceTree, type SourceFile } from './source-tree.js';

export interface StageResult {
  name: string | undefined;
  imageId: string | undefined;
}

interface StageDeps extends BuildDeps {
  opts: BuildOptions;
  context: SourceTree;
  tmpDir: string;
  say: (text: string) => void;
  progress: (m: JsonMessage) => void;
  total: number;
}

interface State {
  imageId: string | undefined;
  spec: ImageSpec;
  /** ARGs declared in this stage with their values (undefined: declared without a value). */
  args: Map<string, string | undefined>;
  cmdSet: { cmdSet: boolean };
}

const short = (id: string): string => id.replace(/^sha256:/, '').slice(0, 12);

export class StageRunner {
  private step = 0;
  private readonly meta = new Map<string, string | undefined>();
  private readonly used = new Set<string>();

  constructor(private readonly d: StageDeps) {}

  declareMetaArgs(args: readonly Instruction[]): void {
    for (const ins of args) {
      this.header(ins);
      for (const [k, v] of this.argPairs(ins, this.metaVars())) this.meta.set(k, v);
    }
  }

  unusedArgs(): string[] {
    return Object.keys(this.d.opts.buildArgs).filter((k) => !this.used.has(k)).sort();
  }

  async stage(s: Stage, earlier: readonly StageResult[], labels?: Record<string, string>): Promise<StageResult> {
    this.header(s.from);
    const platform = s.from.flags.find((f) => f.name === 'platform')?.value;
    const wanted = platform === undefined ? undefined : expandWord(platform, this.metaVars());
    if (wanted !== undefined && !['linux', `linux/${hostArchitecture()}`].includes(wanted)) {
      throw invalidParameter('build.platform', `FROM --platform=${wanted}: this engine builds for linux/${hostArchitecture()} only`);
    }
    const ref = expandWord(s.base, this.metaVars());
    const state = await this.from(ref, earlier);
    for (const ins of s.instructions) {
      this.header(ins);
      await this.dispatch(ins, state, earlier);
    }
    if (labels) {
      const text = Object.entries(labels).map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`).join(' ');
      this.d.say(`Step ${++this.step}/${this.d.total} : LABEL ${text}\n`);
      await this.configStep(state, 'LABEL', text);
    }
    return { name: s.name, imageId: state.imageId };
  }

  private header(ins: Instruction): void {
    this.d.say(`Step ${++this.step}/${this.d.total} : ${ins.original}\n`);
  }

  private metaVars(): Map<string, string> {
    const m = new Map<string, string>();
    for (const [k, v] of this.meta) {
      const given = this.d.opts.buildArgs[k];
      const value = given !== undefined && given !== null ? given : v;
      if (value !== undefined) m.set(k, value);
    }
    return m;
  }

  /** `ARG a=1 b`: names and defaults, defaults expanded with `vars`. */
  private argPairs(ins: Instruction, vars: Map<string, string>): [string, string | undefined][] {
    return splitWords(ins.args).map((w) => {
      const i = w.indexOf('=');
      const name = i < 0 ? w : w.slice(0, i);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw invalidParameter('dockerfile.arg', `ARG names can not be blank`);
      if (name in this.d.opts.buildArgs) this.used.add(name);
      return [name, i < 0 ? undefined : expandWord(w.slice(i + 1), vars)];
    });
  }

  /** The values of the stage's ARGs in effect: `--build-arg` over the default over a global ARG. */
  private argValues(state: State): Map<string, string> {
    const m = new Map<string, string>();
    const meta = this.metaVars();
    for (const [k, v] of state.args) {
      const given = this.d.opts.buildArgs[k];
      const value = given !== undefined && given !== null ? given : (v ?? meta.get(k));
      if (value !== undefined) m.set(k, value);
    }
    return m;
  }

  private async from(ref: string, earlier: readonly StageResult[]): Promise<State> {
    const blank = (): State => ({
      imageId: undefined,
      spec: { architecture: hostArchitecture(), os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] }, history: [] },
      args: new Map(),
      cmdSet: { cmdSet: false },
    });
    if (ref.toLowerCase() === 'scratch') return blank();
    const stage = earlier.find((r) => r.name !== undefined && r.name === ref.toLowerCase());
    const img = stage?.imageId ? this.d.images.store.get(stage.imageId) : await this.baseImage(ref);
    if (!img) throw invalidParameter('build.from', `stage ${ref} produced no image`);
    this.d.say(` ---> ${short(img.id)}\n`);
    const state: State = { ...blank(), imageId: img.id, spec: structuredClone(img.spec) as ImageSpec };
    const triggers = parseDockerfile((img.config.OnBuild ?? []).join('\n')).instructions;
    if (triggers.length > 0) {
      // The base image's ONBUILD triggers run first, and the new image does not inherit them.
      this.d.say(`# Executing ${triggers.length} build ${triggers.length === 1 ? 'trigger' : 'triggers'}\n`);
      state.spec.config = { ...state.spec.config };
      delete state.spec.config.OnBuild;
      for (const t of triggers) {
        check(t);
        await this.dispatch(t, state, earlier);
      }
    }
    return state;
  }

  /** A local image, or pulled when absent (or always with `--pull`). */
  private async baseImage(ref: string): Promise<Image> {
    const images = this.d.images;
    if (!this.d.opts.pull) {
      try {
        return images.resolve(ref);
      } catch (e) {
        if (!isRedesError(e) || e.kind !== 'not-found') throw e;
      }
    }
    const pull = await images.pullRemote(ref, undefined, this.d.opts.creds(ref));
    if ('run' in pull) return images.store.resolve((await pull.run(this.d.progress)).id);
    return images.resolve(ref);
  }

  private async dispatch(ins: Instruction, state: State, earlier: readonly StageResult[]): Promise<void> {
    switch (ins.keyword) {
      case 'ARG': {
        const pairs = this.argPairs(ins, new Map([...this.argValues(state), ...envMap(state.spec.config?.Env)]));
        for (const [k, v] of pairs) state.args.set(k, v);
        const text = pairs.map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join(' ');
        return this.commit(state, { createdBy: nop(`ARG ${text}`), key: `ARG ${text}` });
      }
      case 'RUN':
        return this.run(ins, state);
      case 'COPY':
      case 'ADD':
        return this.copy(ins, state, earlier);
      case 'MAINTAINER':
        state.spec.author = ins.args;
        return this.commit(state, { createdBy: nop(`MAINTAINER ${ins.args}`), key: `MAINTAINER ${ins.args}` });
      case 'WORKDIR':
        return this.workdir(ins, state);
      case 'HEALTHCHECK':
        return this.configStep(state, ins.keyword, ins.original.slice(ins.original.search(/\s/) + 1).trim());
      default:
        return this.configStep(state, ins.keyword, ins.args);
    }
  }

  /** ENV, LABEL, CMD, ENTRYPOINT, EXPOSE, USER, VOLUME, STOPSIGNAL, ONBUILD, HEALTHCHECK, SHELL. */
  private async configStep(state: State, keyword: string, rest: string): Promise<void> {
    const config = applyInstruction(state.spec.config ?? {}, keyword.toLowerCase(), rest, { args: this.argValues(state), state: state.cmdSet });
    state.spec.config = config;
    await this.commit(state, { createdBy: nop(`${keyword} ${rest}`), key: `${keyword} ${rest} ${JSON.stringify(config)}` });
  }

  private async workdir(ins: Instruction, state: State): Promise<void> {
    state.spec.config = applyInstruction(state.spec.config ?? {}, 'workdir', ins.args, { args: this.argValues(state) });
    const dir = state.spec.config.WorkingDir ?? '/';
    const view = this.view(state);
    const path = await view.resolve(dir);
    // Every component, existing ones with the image's own metadata, so the layer changes nothing else.
    const entries: FsEntry[] = [];
    let missing = false;
    let p = '';
    for (const part of path.split('/').filter(Boolean)) {
      p += `/${part}`;
      const st = await view.stat(p);
      if (st?.isDirectory()) entries.push({ name: p.slice(1), type: 'directory', mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime });
      else {
        missing = true;
        entries.push({ name: p.slice(1), type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: new Date() });
      }
    }
    await this.commit(state, { createdBy: nop(`WORKDIR ${dir}`), key: `WORKDIR ${dir} ${JSON.stringify(state.spec.config)}`, entries: missing ? entries : [] });
  }

  private async run(ins: Instruction, state: State): Promise<void> {
    const config = state.spec.config ?? {};
    const argv = ins.json ?? [...(config.Shell ?? ['/bin/sh', '-c']), ins.args];
    const args = this.argValues(state);
    for (const k of args.keys()) if (k in this.d.opts.buildArgs) this.used.add(k);
    const env = envMap(config.Env);
    const argEnv = [...args].filter(([k]) => !env.has(k)).map(([k, v]) => `${k}=${v}`);
    const createdBy = `${argEnv.length ? `|${argEnv.length} ${argEnv.join(' ')} ` : ''}${argv.join(' ')}`;
    const key = `RUN ${createdBy}`;
    if (this.fromCache(state, key)) return;
    if (!state.imageId) throw invalidParameter('build.run', 'cannot RUN in a stage with no image content (FROM scratch): there is no shell to run');
    const o = this.d.opts;
    const view = this.view(state);
    const r = await runStep(this.d.containers, {
      image: state.imageId, argv, env: [...(config.Env ?? []), ...argEnv], workdir: config.WorkingDir ?? '', user: config.User ?? '',
      networkMode: o.networkMode, hostConfig: o.hostConfig,
    }, view, this.d.say);
    const removeContainer = async (): Promise<void> => {
      await this.d.containers.remove(r.containerId, { force: true, volumes: true, link: false });
      this.d.say(` ---> Removed intermediate container ${short(r.containerId)}\n`);
    };
    if (r.exitCode !== 0) {
      if (o.forceRm) await removeContainer();
      throw invalidParameter('build.run_failed', `The command '${argv.join(' ')}' returned a non-zero code: ${r.exitCode}`);
    }
    try {
      await this.commit(state, { createdBy, key, entries: r.entries, cached: false });
    } finally {
      if (o.rm || o.forceRm) await removeContainer();
    }
    this.d.say(` ---> ${short(state.imageId)}\n`);
  }

  private async copy(ins: Instruction, state: State, earlier: readonly StageResult[]): Promise<void> {
    const vars = new Map([...this.argValues(state), ...envMap(state.spec.config?.Env)]);
    const words = (ins.json ?? splitWords(ins.args)).map((w) => (ins.json ? expandWord(w.replace(/\\/g, '\\\\'), vars) : expandWord(w, vars)));
    const dest = words.pop() as string;
    const flag = (n: string): string | undefined => {
      const v = ins.flags.find((f) => f.name === n)?.value;
      return v === undefined ? undefined : expandWord(v, vars);
    };
    const keyword = ins.keyword as 'COPY' | 'ADD';
    const urls = words.filter(isUrlSource);
    if (urls.length && keyword === 'COPY') throw invalidParameter('build.copy_url', "COPY failed: source can't be a URL for COPY");
    const from = flag('from');
    let mountDir: string | undefined;
    const downloads: Downloaded[] = [];
    try {
      for (const u of urls) downloads.push(await downloadSource((url) => this.d.images.fetchUrl(url), u, dest, this.d.tmpDir, this.d.progress));
      if (downloads.length) this.d.say('\n');
      let tree = this.d.context;
      if (from !== undefined) {
        const byName = earlier.find((r) => r.name === from.toLowerCase());
        const byIndex = /^\d+$/.test(from) ? earlier[Number(from)] : undefined;
        if (/^\d+$/.test(from) && !byIndex) throw invalidParameter('build.copy_from', `invalid from flag value ${from}: refers to current build stage`);
        const id = (byName ?? byIndex)?.imageId ?? (await this.baseImage(from)).id;
        mountDir = join(this.d.tmpDir, `from-${randomBytes(4).toString('hex')}`);
        tree = new SourceTree(await mountRootfs(this.d.images.store.rootfsLayers(id), mountDir), undefined, false);
      }
      const downloaded = (f: SourceFile): boolean => downloads.some((d) => f.path === join(d.dir, d.file));
      const unpack = keyword === 'ADD' ? (f: SourceFile) => (downloaded(f) ? Promise.resolve(undefined) : this.unpackArchive(f)) : undefined;
      const trees = [{ tree, args: words.filter((w) => !isUrlSource(w)) }, ...downloads.map((d) => ({ tree: new SourceTree(d.dir, undefined, false), args: [d.file] }))];
      const plan = await planCopy({ keyword, trees, dest, downloaded, workdir: state.spec.config?.WorkingDir ?? '/', chown: flag('chown'), layers: this.layers(state), ...(unpack ? { unpack } : {}) });
      const key = `${plan.summary} ${from ?? ''}`;
      await this.commit(state, { createdBy: `/bin/sh -c #(nop) ${plan.summary}`, key, entries: plan.entries }).catch((e: unknown) => {
        // The layer could not be stored (a full disk): dockerd's words, its path as seen from the copy's destination.
        throw isSystemError(e) ? wrapError(plan.failure.prefix, showPathsAs(e, plan.failure.root, '/')) : e;
      });
    } finally {
      for (const d of downloads) await rm(d.dir, { recursive: true, force: true }).catch(() => undefined);
      if (mountDir) {
        await unmountRootfs(mountDir).catch(() => undefined);
        await rm(mountDir, { recursive: true, force: true }).catch(() => undefined);
      }
    }
  }

  /** ADD's archive unpacking into the build's scratch directory (safely, as a layer is unpacked). */
  private async unpackArchive(f: SourceFile): Promise<string | undefined> {
    if (!(await isArchive(f.path))) return undefined;
    const dir = join(this.d.tmpDir, `add-${randomBytes(4).toString('hex')}`);
    await mkdir(dir);
    try {
      await unpackLayer(createReadStream(f.path) as AsyncIterable<Buffer>, dir);
    } catch (e) {
      throw invalidParameter('build.add_archive', `ADD failed: unpacking ${f.rel}: ${(e as Error).message}`);
    }
    return dir;
  }

  private layers(state: State): string[] {
    return state.imageId ? this.d.images.store.rootfsLayers(state.imageId) : [];
  }

  private view(state: State): ImageView {
    return new ImageView(this.layers(state));
  }

  /** A cache hit: adopt the stored step. */
  private fromCache(state: State, key: string): boolean {
    if (this.d.opts.noCache) return false;
    const hit = this.d.images.store.cached(cacheKey(state.imageId, key));
    if (!hit) return false;
    this.d.say(' ---> Using cache\n');
    this.d.say(` ---> ${short(hit.id)}\n`);
    state.imageId = hit.id;
    state.spec = structuredClone(hit.spec) as ImageSpec;
    return true;
  }

  /** Store the step (a layer when `entries` is not empty) unless the cache has it. */
  private async commit(state: State, step: { createdBy: string; key: string; entries?: FsEntry[]; cached?: boolean }): Promise<void> {
    if (step.cached !== false && this.fromCache(state, step.key)) return;
    const created = nowRfc3339Nano();
    const entries = step.entries ?? [];
    const parent = state.imageId;
    const prev = state.spec;
    const img = await this.d.images.store.addBuilt({
      layer: entries.length > 0 ? packEntries(entries) : undefined,
      parent,
      intermediate: true,
      cacheKey: cacheKey(parent, step.key),
      spec: (diffId) => ({
        architecture: prev.architecture || hostArchitecture(),
        ...(prev.author ? { author: prev.author } : {}),
        config: prev.config ?? {},
        created,
        history: [...(prev.history ?? []), { created, created_by: step.createdBy, ...(diffId ? {} : { empty_layer: true }) }],
        os: prev.os || 'linux',
        rootfs: { type: 'layers', diff_ids: [...prev.rootfs.diff_ids, ...(diffId ? [diffId] : [])] },
      }),
    });
    state.imageId = img.id;
    state.spec = structuredClone(img.spec) as ImageSpec;
    if (step.cached !== false) this.d.say(` ---> ${short(img.id)}\n`);
  }
}

function nop(text: string): string {
  return `/bin/sh -c #(nop)  ${text}`;
}

function cacheKey(parent: string | undefined, key: string): string {
  return createHash('sha256').update(`${parent ?? 'scratch'}\n${key}`).digest('hex');
}

function envMap(env: readonly string[] | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of env ?? []) {
    const i = e.indexOf('=');
    if (i > 0) m.set(e.slice(0, i), e.slice(i + 1));
  }
  return m;
}

/** A local tar archive (plain or gzip) for ADD to unpack; bzip2, xz and zstd ones are refused by the reader. */
async function isArchive(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(262);
    const { bytesRead } = await fh.read(head, 0, 262, 0);
    if (head[0] === 0x1f && head[1] === 0x8b) return true;
    if (bytesRead >= 6 && (head.subarray(0, 3).toString('latin1') === 'BZh' || head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])))) return true;
    return bytesRead >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
  } finally {
    await fh.close();
  }
}
