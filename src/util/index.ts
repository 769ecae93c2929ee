/**
 * util/: what every layer shares: errors (kinds and Docker's texts), ids, logging, time, Docker's
 * list filters, own-property maps, IP addresses as text, system errors in Go's text, a stream helper
 * and crash-test failpoints.
 * No I/O beyond the log (and a crash test's failpoint file); imports nothing of ours.
 */
export {
  RedesError,
  conflict,
  forbidden,
  internal,
  invalidParameter,
  isRedesError,
  errorOf,
  HTTP_STATUS,
  notFound,
  notImplemented,
  tooLarge,
  unavailable,
  type ErrorKind,
} from './errors.js';
export { ERROR_CODES, isErrorCode, type CodeOf, type ErrorCode, type ErrorEntry } from './error-codes.js';
export { Filters, MAX_ECHO, clipEcho } from './filters.js';
export { MAX_JSON_DEPTH, parseJson } from './json.js';
export { newId } from './ids.js';
export { ownGet, ownSet } from './own.js';
export { logger, phaseClock, setLogLevel, startStage, type Logger, type PhaseClock } from './log.js';
export { FAILPOINTS, failpoint, type Failpoint } from './failpoints.js';
export { answersWithin, retryInBackground } from './retry.js';
export { drainOrClose } from './streams.js';
export { ZERO_TIME, nowRfc3339Nano, rfc3339ToSeconds, unrefSleep } from './time.js';
export { formatIpAddress, formatIpBytes } from './ip-text.js';
export { WrappedError, errorMessage, isSystemError, showPathsAs, wrapError, type SystemError } from './system-errors.js';
