/**
 * The classic builder's checks of each instruction before anything runs (so that a bad Dockerfile
 * is a 400 with Docker's text, not a half-done build): argument counts, and flags: those the
 * classic builder knows, those only BuildKit has (refused with dockerd's words), and unknown ones.
 * Also splits the file into global ARGs and stages.
 *
 * Use: `const { metaArgs, stages } = planStages(parseDockerfile(text).instructions)`.
 */
import { invalidParameter } from '../util/index.js';
import { parseError, type Instruction } from './dockerfile.js';

export interface Stage {
  from: Instruction;
  /** `FROM image AS name`, lower-cased. */
  name: string | undefined;
  /** The image reference as written (variables not yet expanded). */
  base: string;
  instructions: Instruction[];
}

const FLAGS: Record<string, string[]> = {
  FROM: ['platform'],
  COPY: ['from', 'chown'],
  ADD: ['chown'],
  HEALTHCHECK: ['interval', 'timeout', 'start-period', 'start-interval', 'retries'],
  RUN: [],
};
const BUILDKIT_FLAGS: Record<string, string[]> = {
  RUN: ['mount', 'network', 'security'],
  COPY: ['chmod', 'link', 'parents', 'exclude'],
  ADD: ['chmod', 'link', 'checksum', 'keep-git-dir', 'exclude'],
};
const EXACTLY_ONE = new Set(['USER', 'WORKDIR', 'STOPSIGNAL', 'MAINTAINER']);

export function planStages(instructions: readonly Instruction[]): { metaArgs: Instruction[]; stages: Stage[] } {
  if (instructions.length === 0) throw invalidParameter('dockerfile.empty', 'the Dockerfile (Dockerfile) cannot be empty');
  const metaArgs: Instruction[] = [];
  const stages: Stage[] = [];
  for (const ins of instructions) {
    check(ins);
    if (ins.keyword === 'FROM') {
      const words = ins.args.split(/\s+/).filter(Boolean);
      if (words.length !== 1 && !(words.length === 3 && words[1]?.toUpperCase() === 'AS')) {
        throw parseError(ins.line, 'FROM requires either one or three arguments');
      }
      const name = words[2]?.toLowerCase();
      if (name !== undefined && !/^[a-z][a-z0-9-_.]*$/.test(name)) throw parseError(ins.line, `invalid name for build stage: "${words[2] ?? ''}", name can't start with a number or contain symbols`);
      stages.push({ from: ins, name, base: words[0] ?? '', instructions: [] });
    } else if (stages.length === 0) {
      if (ins.keyword !== 'ARG') throw parseError(ins.line, 'no build stage in current context');
      metaArgs.push(ins);
    } else stages[stages.length - 1]?.instructions.push(ins);
  }
  if (stages.length === 0) throw invalidParameter('dockerfile.no_stage', 'no build stage in current context');
  return { metaArgs, stages };
}

/** Argument counts and flags of one instruction (also used for ONBUILD triggers). */
export function check(ins: Instruction): void {
  const known = FLAGS[ins.keyword] ?? [];
  for (const f of ins.flags) {
    if (BUILDKIT_FLAGS[ins.keyword]?.includes(f.name)) {
      throw parseError(ins.line, `the --${f.name} option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled`);
    }
    if (!known.includes(f.name)) throw parseError(ins.line, `Unknown flag: ${f.name}`);
    if (f.value === undefined || f.value === '') throw parseError(ins.line, `missing a value on flag: ${f.name}`);
  }
  if (ins.keyword === 'COPY' || ins.keyword === 'ADD') {
    const n = ins.json?.length ?? ins.args.split(/\s+/).filter(Boolean).length;
    if (n === 0) throw parseError(ins.line, `${ins.keyword} requires at least two arguments`);
    if (n === 1) throw parseError(ins.line, `${ins.keyword} requires at least two arguments, but only one was provided. Destination could not be determined`);
    return;
  }
  if (ins.args === '' && ins.keyword !== 'FROM') {
    throw parseError(ins.line, `${ins.keyword} requires ${EXACTLY_ONE.has(ins.keyword) ? 'exactly' : 'at least'} one argument`);
  }
  if (ins.keyword === 'ONBUILD') {
    const trigger = (/^\S+/.exec(ins.args)?.[0] ?? '').toUpperCase();
    if (trigger === 'ONBUILD') throw parseError(ins.line, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    if (trigger === 'FROM' || trigger === 'MAINTAINER') throw parseError(ins.line, `${trigger} isn't allowed as an ONBUILD trigger`);
  }
}
