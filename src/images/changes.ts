/**
 * `docker import --change` / `docker commit --change`: Dockerfile instructions applied to an image
 * config. Accepted, as Docker accepts them: CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL,
 * ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR; anything else is `<cmd> is not a valid change command`.
 *
 * Use: `applyChanges(config, changes)` returns a new config; the input is not modified.
 *
 * Beware: as in a Dockerfile, variables (`$A`, `${A:-x}`) are expanded from the config's Env as it
 * was before the instruction, but never in CMD/ENTRYPOINT; shell forms run `/bin/sh -c` (or the
 * config's Shell). ENTRYPOINT clears a Cmd not set by an earlier CMD in the same changes.
 */
import { posix } from 'node:path';
import { invalidParameter, type RedesError } from '../util/index.js';
import type { HealthConfig, ImageConfig } from './types.js';
import { expandWord, splitWords } from './shell-words.js';

const VALID = new Set(['cmd', 'entrypoint', 'env', 'expose', 'healthcheck', 'label', 'onbuild', 'stopsignal', 'user', 'volume', 'workdir']);
const DEFAULT_SHELL = ['/bin/sh', '-c'];

const bad = (message: string): RedesError => invalidParameter('image.change', message);

/** Apply Dockerfile instructions to a copy of `config`. Throws invalid-parameter errors. */
export function applyChanges(config: ImageConfig, changes: readonly string[]): ImageConfig {
  const lines = logicalLines(changes.join('\n'));
  const parsed = lines.map((line) => {
    const m = /^(\S+)\s*([\s\S]*)$/.exec(line) ?? ['', '', ''];
    return { cmd: (m[1] ?? '').toLowerCase(), rest: (m[2] ?? '').trim() };
  });
  for (const p of parsed) if (!VALID.has(p.cmd)) throw bad(`${p.cmd} is not a valid change command`);
  let c: ImageConfig = config;
  const state = { cmdSet: false };
  for (const { cmd, rest } of parsed) c = applyInstruction(c, cmd, rest, { state });
  return c;
}

/** Options of `applyInstruction`. */
export interface InstructionContext {
  /** Build arguments in effect: variables for expansion, under the config's Env. */
  args?: ReadonlyMap<string, string>;
  /** Shared across instructions: whether a CMD was set (then ENTRYPOINT keeps it). */
  state?: { cmdSet: boolean };
}

/** Apply one instruction (`cmd` lower-case: `env`, `label`...) to a copy of `config`. */
export function applyInstruction(config: ImageConfig, cmd: string, rest: string, ctx: InstructionContext = {}): ImageConfig {
  const c: ImageConfig = structuredClone(config);
  const state = ctx.state ?? { cmdSet: false };
  const env = new Map([...(ctx.args ?? new Map<string, string>()), ...envMap(c.Env)]);
  const word = (w: string): string => expandWord(w, env);
  switch (cmd) {
    case 'cmd':
      c.Cmd = commandForm(rest, c.Shell);
      state.cmdSet = true;
      break;
    case 'entrypoint':
      c.Entrypoint = commandForm(rest, c.Shell);
      if (!state.cmdSet) delete c.Cmd;
      break;
    case 'env':
      for (const [k, v] of nameValues('ENV', rest).map(([k, v]) => [word(k), word(v)] as const)) c.Env = setEnv(c.Env ?? [], k, v);
      break;
    case 'label':
      for (const [k, v] of nameValues('LABEL', rest)) (c.Labels ??= {})[word(k)] = word(v);
      break;
    case 'expose':
      for (const w of splitWords(rest)) for (const p of portSpecs(word(w))) (c.ExposedPorts ??= {})[p] = {};
      break;
    case 'user':
      c.User = one('USER', word(rest));
      break;
    case 'workdir': {
      const dir = one('WORKDIR', word(rest));
      c.WorkingDir = posix.normalize(dir.startsWith('/') ? dir : posix.join('/', c.WorkingDir ?? '/', dir));
      break;
    }
    case 'volume':
      for (const v of jsonArray(rest) ?? splitWords(rest).map(word)) {
        if (!v.trim()) throw bad('VOLUME specified can not be an empty string');
        (c.Volumes ??= {})[v] = {};
      }
      break;
    case 'stopsignal': {
      const sig = word(rest);
      if (!/^(?:\d+|(?:SIG)?[A-Z][A-Z0-9+-]*)$/.test(sig)) throw bad(`Invalid signal: ${sig}`);
      c.StopSignal = sig;
      break;
    }
    case 'onbuild':
      c.OnBuild = [...(c.OnBuild ?? []), onBuildTrigger(rest)];
      break;
    case 'healthcheck':
      c.Healthcheck = healthcheck(rest);
      break;
    case 'shell': {
      const shell = jsonArray(rest);
      if (!shell) throw bad('SHELL requires the arguments to be in JSON form');
      c.Shell = shell;
      break;
    }
    default:
      throw bad(`${cmd} is not a valid change command`);
  }
  return c;
}

/** Join `\`-continued lines; drop blank lines and `#` comments. */
function logicalLines(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (!cur && (/^\s*$/.test(line) || /^\s*#/.test(line))) continue;
    if (/\\\s*$/.test(line)) {
      cur += line.replace(/\\\s*$/, '');
      continue;
    }
    out.push((cur + line).trim());
    cur = '';
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

function jsonArray(rest: string): string[] | undefined {
  if (!rest.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(rest);
    if (Array.isArray(v) && v.every((x): x is string => typeof x === 'string')) return v;
  } catch {
    // not JSON: Docker falls back to the shell form
  }
  return undefined;
}

/** Exec form (`["a","b"]`) or shell form (`a b` → `/bin/sh -c "a b"`). */
function commandForm(rest: string, shell: string[] | undefined): string[] {
  return jsonArray(rest) ?? [...(shell ?? DEFAULT_SHELL), rest];
}

/** `K=V K2="v 2"` or the legacy `K some value`. */
function nameValues(cmd: string, rest: string): [string, string][] {
  const words = splitWords(rest);
  const first = words[0];
  if (first === undefined) throw bad(`${cmd} requires at least one argument`);
  if (!first.includes('=')) {
    const m = /^(\S+)\s+([\s\S]*)$/.exec(rest);
    if (!m?.[1] || m[2] === undefined) throw bad(`${cmd} must have two arguments`);
    return [[m[1], m[2]]];
  }
  return words.map((w) => {
    const i = w.indexOf('=');
    if (i < 0) throw bad(`Syntax error - can't find = in "${w}". Must be of the form: name=value`);
    if (i === 0) throw bad(`${cmd} names can not be blank`);
    return [w.slice(0, i), w.slice(i + 1)];
  });
}

function envMap(env: string[] | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of env ?? []) {
    const i = e.indexOf('=');
    if (i > 0) m.set(e.slice(0, i), e.slice(i + 1));
  }
  return m;
}

function setEnv(env: string[], key: string, value: string): string[] {
  const entry = `${key}=${value}`;
  const i = env.findIndex((e) => e.split('=')[0] === key);
  return i >= 0 ? env.map((e, j) => (j === i ? entry : e)) : [...env, entry];
}

function one(cmd: string, value: string): string {
  if (!value) throw bad(`${cmd} requires exactly one argument`);
  return value;
}

/** `80`, `53/udp`, `8000-8002/tcp` → `80/tcp`, ... */
export function portSpecs(spec: string): string[] {
  const m = /^(\d+)(?:-(\d+))?(?:\/([A-Za-z]+))?$/.exec(spec);
  if (!m?.[1]) throw bad(`invalid containerPort: ${spec}`);
  const proto = (m[3] ?? 'tcp').toLowerCase();
  if (!['tcp', 'udp', 'sctp'].includes(proto)) throw bad(`invalid proto: ${proto}`);
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  if (start < 1 || end > 65535 || end < start) throw bad(`invalid containerPort: ${spec}`);
  return Array.from({ length: end - start + 1 }, (_, i) => `${start + i}/${proto}`);
}

function onBuildTrigger(rest: string): string {
  const trigger = (/^\S+/.exec(rest)?.[0] ?? '').toUpperCase();
  if (!trigger) throw bad('ONBUILD requires at least one argument');
  if (trigger === 'ONBUILD') throw bad('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
  if (trigger === 'FROM' || trigger === 'MAINTAINER') throw bad(`${trigger} isn't allowed as an ONBUILD trigger`);
  return rest;
}

const DURATION_FLAGS: Record<string, keyof HealthConfig> = {
  interval: 'Interval',
  timeout: 'Timeout',
  'start-period': 'StartPeriod',
  'start-interval': 'StartInterval',
};

function healthcheck(rest: string): HealthConfig {
  if (/^none$/i.test(rest)) return { Test: ['NONE'] };
  const hc: HealthConfig = {};
  let args = rest;
  for (let m = /^--([a-z-]+)=(\S*)\s*/.exec(args); m; m = /^--([a-z-]+)=(\S*)\s*/.exec(args)) {
    const [all, flag = '', value = ''] = m;
    const field = DURATION_FLAGS[flag];
    if (field) (hc as Record<string, number>)[field] = goDuration(value);
    else if (flag === 'retries' && /^\d+$/.test(value)) hc.Retries = Number(value);
    else throw bad(`Unknown flag: ${flag}`);
    args = args.slice(all.length);
  }
  const m = /^(\S+)\s*([\s\S]*)$/.exec(args);
  if (!m || m[1]?.toUpperCase() !== 'CMD') throw bad(`Unknown type "${m?.[1] ?? ''}" in HEALTHCHECK (try CMD)`);
  const cmd = m[2] ?? '';
  const exec = jsonArray(cmd);
  hc.Test = exec ? ['CMD', ...exec] : ['CMD-SHELL', cmd];
  return hc;
}

/** Go's time.ParseDuration, in nanoseconds (`1m30s`, `500ms`). */
export function goDuration(s: string): number {
  const unit: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  if (s === '0') return 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m?.[1] || !m[2]) throw bad(`time: invalid duration "${s}"`);
    total += Number(m[1]) * (unit[m[2]] ?? 0);
    pos = re.lastIndex;
  }
  if (!s) throw bad(`time: invalid duration ""`);
  return Math.round(total);
}
