/**
 * A container's log driver and options (`--log-driver`, `--log-opt`) as dockerd reads them: the
 * daemon's defaults merged in at create (moby's mergeAndVerifyLogConfig, so inspect shows them),
 * the option names checked at create, and the values read at start into the shim's rotation limits,
 * each refusal in Docker's words.
 *
 * Use: `mergeLogConfig(hostConfig.LogConfig, daemonDefaults)` at create (throws 400);
 * `logLimits(rec.hostConfig.LogConfig)` at start, before any kernel step (throws Docker's start
 * error: "failed to create task for container: failed to initialize logging driver: ...").
 * Drivers: json-file and local keep rotated files (the shim's frame format, not Docker's JSON or
 * protobuf: the API shows no difference); none keeps nothing. Other drivers are refused by name.
 * Beware: Docker's json-file grows without limit unless max-size is set. Here a json-file log without
 * max-size rotates at DEFAULT_LOG_LIMIT (20 MB × 5 files, the figures of Docker's own `local`
 * driver), so a chatty container cannot fill the disk; an explicit max-size (container or daemon
 * --log-opt) replaces it. Nothing compresses rotated files: compress=true is refused by name.
 */
import { invalidParameter, type RedesError } from '../../util/index.js';
import type { LogLimits } from '../../runtime/index.js';

export interface LogConfig {
  Type: string;
  Config: Record<string, string>;
}

/** The limit a json-file log without max-size gets (Docker's local driver's defaults). */
export const DEFAULT_LOG_LIMIT = { maxSize: 20 * 1000 * 1000, maxFile: 5 } as const;

export const LOG_DRIVERS = ['json-file', 'local', 'none'] as const;
/** dockerd's default: json-file without options. */
export const DEFAULT_LOG_CONFIG: LogConfig = { Type: 'json-file', Config: {} };
/** Drivers dockerd has built in that redes does not offer (refused by name, not as unknown). */
const DOCKER_ONLY = ['syslog', 'journald', 'gelf', 'fluentd', 'awslogs', 'splunk', 'etwlogs', 'gcplogs', 'logentries'];
const JSON_FILE_OPTS = ['max-file', 'max-size', 'compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag'];
const LOCAL_OPTS = ['max-file', 'max-size', 'compress'];
/** json-file options that only add attributes to log entries (`docker logs --details`): not kept here. */
const ATTRIBUTE_OPTS = ['labels', 'labels-regex', 'env', 'env-regex', 'tag'];

const bad = (message: string): RedesError => invalidParameter('container.log_config', message);

function stringMap(v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw bad('invalid LogConfig.Config: want an object of strings');
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string') throw bad(`invalid LogConfig.Config: the value of "${k}" is not a string`);
    out[k] = x;
  }
  return out;
}

/** The container's log settings with the daemon's defaults merged in, checked as dockerd checks them at create. */
export function mergeLogConfig(given: unknown, defaults: LogConfig): LogConfig {
  if (given !== undefined && given !== null && (typeof given !== 'object' || Array.isArray(given))) throw bad('invalid LogConfig: want an object');
  const g = (given ?? {}) as { Type?: unknown; Config?: unknown };
  if (g.Type !== undefined && typeof g.Type !== 'string') throw bad('invalid LogConfig.Type: want a string');
  const type = g.Type || defaults.Type;
  const config = stringMap(g.Config);
  if (type === defaults.Type) for (const [k, v] of Object.entries(defaults.Config)) if (!(k in config)) config[k] = v;
  validateLogConfig({ Type: type, Config: config });
  return { Type: type, Config: config };
}

/** dockerd's ValidateLogOpts for the drivers redes has, and refusals by name for what it lacks. */
export function validateLogConfig(cfg: LogConfig): void {
  if (cfg.Type === 'none') return;
  const mode = cfg.Config.mode ?? '';
  if (!['', 'blocking', 'non-blocking'].includes(mode)) throw bad(`logger: logging mode not supported: ${mode}`);
  if ('max-buffer-size' in cfg.Config && mode !== 'non-blocking') throw bad("logger: max-buffer-size option is only supported with 'mode=non-blocking'");
  if (mode === 'non-blocking') throw bad('log mode "non-blocking" is not supported: the shim writes the log as the output comes (mode=blocking)');
  if (DOCKER_ONLY.includes(cfg.Type)) throw bad(`log driver "${cfg.Type}" is not supported (only json-file, local and none)`);
  if (cfg.Type !== 'json-file' && cfg.Type !== 'local') throw bad(`logger: no log driver named '${cfg.Type}' is registered`);
  const known = cfg.Type === 'json-file' ? JSON_FILE_OPTS : LOCAL_OPTS;
  for (const key of Object.keys(cfg.Config)) {
    if (key === 'mode' || key === 'max-buffer-size') continue;
    if (!known.includes(key)) {
      throw bad(cfg.Type === 'json-file' ? `unknown log opt '${key}' for json-file log driver` : `unknown log opt '${key}' for log driver local`);
    }
    if (ATTRIBUTE_OPTS.includes(key)) throw bad(`log opt '${key}' is not supported: log entries keep no attributes (docker logs --details shows none)`);
  }
  if (cfg.Config.compress !== undefined && ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(cfg.Config.compress)) {
    throw bad('log opt compress=true is not supported: rotated log files are kept uncompressed');
  }
}

/** The shim's limits for a container's log; throws dockerd's start-time error for a bad value. */
export function logLimits(stored: unknown): LogLimits {
  const cfg = (stored ?? {}) as Partial<LogConfig>;
  if (cfg.Type === 'none') return { keep: false };
  const c = cfg.Config ?? {};
  try {
    return cfg.Type === 'local' ? localLimits(c) : jsonFileLimits(c);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw invalidParameter('container.log_init', `failed to create task for container: failed to initialize logging driver: ${why}`);
  }
}

function jsonFileLimits(c: Record<string, string>): LogLimits {
  let maxSize = -1;
  if (c['max-size'] !== undefined) {
    maxSize = fromHumanSize(c['max-size']);
    if (maxSize <= 0) throw new Error('max-size must be a positive number');
  }
  let maxFile = 1;
  if (c['max-file'] !== undefined) {
    maxFile = atoi(c['max-file']);
    if (maxFile < 1) throw new Error('max-file cannot be less than 1');
  }
  if (c.compress !== undefined) {
    const compress = parseBool(c.compress);
    if (compress && (maxFile === 1 || maxSize === -1)) throw new Error('compress cannot be true when max-file is less than 2 or max-size is not set');
  }
  if (maxSize === -1) return { keep: true, maxSize: DEFAULT_LOG_LIMIT.maxSize, maxFile: c['max-file'] !== undefined ? maxFile : DEFAULT_LOG_LIMIT.maxFile };
  return { keep: true, maxSize, maxFile };
}

function localLimits(c: Record<string, string>): LogLimits {
  const maxSize = optionValue(c, 'max-size', fromHumanSize, DEFAULT_LOG_LIMIT.maxSize);
  const maxFile = optionValue(c, 'max-file', atoi, DEFAULT_LOG_LIMIT.maxFile);
  // local's default is true; compression itself is not done here (see the header).
  let compress = true;
  if (c.compress !== undefined) {
    try {
      compress = parseBool(c.compress);
    } catch (e) {
      throw new Error(`invalid boolean value for compress: ${(e as Error).message}`);
    }
  }
  if (maxSize < 0) throw new Error('max-size must not be negative');
  if (maxFile < 0) throw new Error('max-file must not be negative');
  if (compress && maxFile <= 1) throw new Error('compression cannot be enabled when max file count is 1');
  return { keep: true, maxSize, maxFile: Math.max(1, maxFile) };
}

/** The `local` driver's option `key` parsed by `parse`, `fallback` when absent; its error text names the option. */
function optionValue(c: Record<string, string>, key: string, parse: (v: string) => number, fallback: number): number {
  const v = c[key];
  if (v === undefined) return fallback;
  try {
    return parse(v);
  } catch (e) {
    throw new Error(`invalid value for ${key}: ${v}: ${(e as Error).message}`);
  }
}

const DECIMAL: Record<string, number> = { k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };
const GO_FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** go-units FromHumanSize (decimal: 1k = 1000), with its error texts. */
export function fromHumanSize(s: string): number {
  let sep = -1;
  for (let i = s.length - 1; i >= 0; i--) {
    if ('0123456789. '.includes(s[i] as string)) {
      sep = i;
      break;
    }
  }
  if (sep === -1) throw new Error(`invalid size: '${s}'`);
  const num = s[sep] === ' ' ? s.slice(0, sep) : s.slice(0, sep + 1);
  let sfx = s.slice(sep + 1);
  if (!GO_FLOAT.test(num)) throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(num)}: invalid syntax`);
  let size = Number(num);
  if (size < 0) throw new Error(`invalid size: '${s}'`);
  if (sfx === '') return Math.trunc(size);
  const badSuffix = (): Error => new Error(`invalid suffix: '${sfx}'`);
  if (sfx.length > 3) throw badSuffix();
  sfx = sfx.toLowerCase();
  if (sfx[0] === 'b') {
    if (sfx.length > 1) throw badSuffix();
    return Math.trunc(size);
  }
  const mul = DECIMAL[sfx[0] as string];
  if (mul === undefined) throw badSuffix();
  size *= mul;
  if ((sfx.length === 2 && sfx[1] !== 'b') || (sfx.length === 3 && sfx.slice(1) !== 'ib')) throw badSuffix();
  return Math.trunc(size);
}

/** Go's strconv.Atoi, with its error texts. */
function atoi(s: string): number {
  if (!/^[+-]?\d+$/.test(s)) throw new Error(`strconv.Atoi: parsing ${JSON.stringify(s)}: invalid syntax`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new Error(`strconv.Atoi: parsing ${JSON.stringify(s)}: value out of range`);
  return n;
}

/** Go's strconv.ParseBool, with its error text. */
function parseBool(s: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  throw new Error(`strconv.ParseBool: parsing ${JSON.stringify(s)}: invalid syntax`);
}
