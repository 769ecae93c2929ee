/**
 * The error kinds of redes, after moby's errdefs. Any layer throws a `RedesError` with the kind and
 * Docker's exact message; the API edge maps the kind to an HTTP status in one place
 * (api/http-status.ts) and writes `{"message": ...}`. `code` is stable for programs to match on.
 */

export type ErrorKind =
  | 'invalid-parameter' // 400
  | 'forbidden' // 403
  | 'not-found' // 404
  | 'conflict' // 409
  | 'not-implemented' // 501
  | 'unavailable' // 503
  | 'internal'; // 500

export class RedesError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RedesError';
  }
}

export const invalidParameter = (code: string, message: string): RedesError =>
  new RedesError('invalid-parameter', code, message);
export const notFound = (code: string, message: string): RedesError => new RedesError('not-found', code, message);
export const conflict = (code: string, message: string): RedesError => new RedesError('conflict', code, message);
export const forbidden = (code: string, message: string): RedesError => new RedesError('forbidden', code, message);
export const notImplemented = (code: string, message: string): RedesError =>
  new RedesError('not-implemented', code, message);
export const unavailable = (code: string, message: string): RedesError =>
  new RedesError('unavailable', code, message);
export const internal = (code: string, message: string, cause?: unknown): RedesError =>
  new RedesError('internal', code, message, { cause });

export function isRedesError(e: unknown): e is RedesError {
  return e instanceof RedesError;
}
