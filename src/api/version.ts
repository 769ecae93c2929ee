/**
 * API versions: every path is served bare and under `/v1.24` … `/v1.50`, as dockerd does.
 * A request for a newer or older version than we support gets Docker's 400 message.
 */
import { invalidParameter } from '../util/index.js';

export const API_VERSION = '1.50';
export const MIN_API_VERSION = '1.24';

const PREFIX = /^\/v(\d+)\.(\d+)(\/.*)$/;

export function compareVersions(a: string, b: string): number {
  const [a1 = 0, a2 = 0] = a.split('.').map(Number);
  const [b1 = 0, b2 = 0] = b.split('.').map(Number);
  return a1 !== b1 ? a1 - b1 : a2 - b2;
}

/** Splits `/v1.43/networks` into version `1.43` and path `/networks`; bare paths get the newest version. */
export function splitVersion(path: string): { version: string; path: string } {
  const m = PREFIX.exec(path);
  if (!m) return { version: API_VERSION, path };
  const version = `${m[1]}.${m[2]}`;
  if (compareVersions(version, API_VERSION) > 0) {
    throw invalidParameter('api.version_too_new', `client version ${version} is too new. Maximum supported API version is ${API_VERSION}`);
  }
  if (compareVersions(version, MIN_API_VERSION) < 0) {
    throw invalidParameter(
      'api.version_too_old',
      `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`,
    );
  }
  return { version, path: m[3] ?? '/' };
}
