/**
 * The error kinds of redes, after moby's errdefs. Any layer throws a `RedesError` with a code of the
 * catalogue (error-codes.ts, which gives its kind) and Docker's exact message; the API edge maps the
 * kind to an HTTP status in one place (api/http-status.ts) and writes `{"message": ...}`.
 * Use: `throw notFound('network.not_found', \`network ${name} not found\`)`.
 * Beware: each helper takes only the codes the catalogue gives its kind (a compile error otherwise).
 */
import { ERROR_CODES, type CodeOf, type ErrorCode } from './error-codes.js';


export type ErrorKind =
  | 'invalid-parameter' // 400
  | 'forbidden' // 403
  | 'not-found' // 404
  | 'conflict' // 409
  | 'too-large' // 413
  | 'not-implemented' // 501
  | 'unavailable' // 503
  | 'internal'; // 500

/** HTTP status of each kind, as moby's httpstatus.FromError; used by every HTTP edge (api/, the join service). */
export const HTTP_STATUS: Readonly<Record<ErrorKind, number>> = {
  'invalid-parameter': 400,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'too-large': 413,
  'not-implemented': 501,
  unavailable: 503,
  internal: 500,
};

export class RedesError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RedesError';
  }
}

export const invalidParameter = (code: CodeOf<'invalid-parameter'>, message: string, cause?: unknown): RedesError =>
  new RedesError('invalid-parameter', code, message, { cause });
export const notFound = (code: CodeOf<'not-found'>, message: string): RedesError => new RedesError('not-found', code, message);
export const conflict = (code: CodeOf<'conflict'>, message: string): RedesError => new RedesError('conflict', code, message);
export const tooLarge = (code: CodeOf<'too-large'>, message: string): RedesError => new RedesError('too-large', code, message);
export const forbidden = (code: CodeOf<'forbidden'>, message: string): RedesError => new RedesError('forbidden', code, message);
export const notImplemented = (code: CodeOf<'not-implemented'>, message: string): RedesError =>
  new RedesError('not-implemented', code, message);
export const unavailable = (code: CodeOf<'unavailable'>, message: string, cause?: unknown): RedesError =>
  new RedesError('unavailable', code, message, { cause });
export const internal = (code: CodeOf<'internal'>, message: string, cause?: unknown): RedesError =>
  new RedesError('internal', code, message, { cause });

/** An error of a catalogued code whose kind the catalogue gives (codes read back from a peer). */
export const errorOf = (code: ErrorCode, message: string): RedesError => new RedesError(ERROR_CODES[code].kind, code, message);

export function isRedesError(e: unknown): e is RedesError {
  return e instanceof RedesError;
}
