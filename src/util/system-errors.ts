/**
 * The text of a failed system call as dockerd reports it. Go's os package wraps an errno in a
 * *PathError, whose text is `op path: message` (`write /blobs/sha256/…: no space left on device`),
 * or a *LinkError for two paths (`rename old new: …`); Node's is `ENOSPC: no space left on device,
 * write` (with the path quoted, when Node knows it). Every edge that reports an error (the API's
 * error answers and stream errors) goes through `errorMessage`, so the shape is made here only.
 *
 * Use: `errorMessage(e)` for the text of any error; `showPathsAs(e, hostRoot, shown, fallback)`
 * where a file operation fails, so the path reported is the one dockerd would show (inside the
 * layer, the archive or the container, as its chrooted unpacking sees it), never the data root;
 * `wrapError(prefix, e)` for dockerd's operation prefix (`failed to register layer: …`).
 * Beware: only Node's system errors (a string `code` and `syscall`) are rewritten; RedesErrors and
 * other errors keep their message.
 */
import { posix } from 'node:path';

export interface SystemError extends Error {
  code: string;
  syscall: string;
  path?: string;
  dest?: string;
}

export function isSystemError(e: unknown): e is SystemError {
  return e instanceof Error && typeof (e as Partial<SystemError>).code === 'string' && typeof (e as Partial<SystemError>).syscall === 'string';
}

/** Go's texts of the errnos a store or a copy meets (syscall's errors table), where libuv's differ or matter. */
const GO_ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EIO: 'input/output error',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  EEXIST: 'file exists',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  ENOTEMPTY: 'directory not empty',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in system',
  ENAMETOOLONG: 'file name too long',
  EFBIG: 'file too large',
  ELOOP: 'too many levels of symbolic links',
  EXDEV: 'invalid cross-device link',
  EBUSY: 'device or resource busy',
  EINVAL: 'invalid argument',
};

/** Go's op names for Node's syscall names where they differ (os.File.Write is `write` whatever the call). */
const GO_OP: Readonly<Record<string, string>> = { writev: 'write', pwrite: 'write', readv: 'read', unlink: 'remove', rmdir: 'remove' };

/** Ops whose Go error names two paths (*os.LinkError). */
const TWO_PATHS = new Set(['rename', 'link', 'symlink']);

function systemText(e: SystemError): string {
  // Node: `CODE: description, syscall 'path'`; the description is libuv's strerror.
  const described = /^[A-Z0-9_]+: (.*?), [a-z_]+\b/.exec(e.message)?.[1];
  const text = GO_ERRNO_TEXT[e.code] ?? described ?? e.code;
  const op = GO_OP[e.syscall] ?? e.syscall;
  if (e.path === undefined) return `${op}: ${text}`;
  if (TWO_PATHS.has(op) && e.dest !== undefined) return `${op} ${e.path} ${e.dest}: ${text}`;
  return `${op} ${e.path}: ${text}`;
}

/** The text an error is reported with: a system error in Go's shape, any other its message. */
export function errorMessage(e: unknown): string {
  if (isSystemError(e)) return systemText(e);
  return e instanceof Error ? e.message : String(e);
}

/**
 * Makes a system error report its paths as dockerd would see them: a path under `hostRoot` is
 * shown under `shown` (`/` for the root of a layer or an archive, the container path of a `docker
 * cp` destination); with no path at all (a write on a file descriptor), `fallback` is shown.
 * Returns `e`, changed in place; anything but a system error is left alone.
 */
export function showPathsAs<E>(e: E, hostRoot: string, shown: string, fallback?: string): E {
  if (!isSystemError(e)) return e;
  const relocate = (p: string): string => {
    const rel = posix.relative(hostRoot, p);
    return rel === '' ? shown : rel.startsWith('..') || posix.isAbsolute(rel) ? p : posix.join(shown, rel);
  };
  if (e.path !== undefined) e.path = relocate(e.path);
  else if (fallback !== undefined) e.path = relocate(fallback);
  if (e.dest !== undefined) e.dest = relocate(e.dest);
  return e;
}

/** dockerd's `prefix: cause` (fmt.Errorf / errors.Wrap), keeping the cause and its errno code (ENOSPC) for callers that test it. */
export class WrappedError extends Error {
  readonly code: string | undefined;
  constructor(prefix: string, cause: unknown) {
    super(`${prefix}: ${errorMessage(cause)}`, { cause });
    this.name = 'WrappedError';
    this.code = (cause as { code?: unknown } | null)?.code === undefined ? undefined : String((cause as { code?: unknown }).code);
  }
}

export const wrapError = (prefix: string, cause: unknown): WrappedError => new WrappedError(prefix, cause);
