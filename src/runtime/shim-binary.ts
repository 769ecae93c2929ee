/**
 * Where the redes-shim binary is: $REDES_SHIM, else dist/redes-shim of this checkout (built by
 * scripts/build-shim.sh), found from the compiled module (dist/src/runtime) or the source (src/runtime).
 */
import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { unavailable } from '../util/index.js';

let found: string | undefined;

export function shimBinary(): string {
  if (found) return found;
  const candidates = [
    process.env.REDES_SHIM,
    fileURLToPath(new URL('../../redes-shim', import.meta.url)),
    fileURLToPath(new URL('../../dist/redes-shim', import.meta.url)),
  ];
  for (const path of candidates) {
    if (!path) continue;
    try {
      accessSync(path, constants.X_OK);
      found = path;
      return path;
    } catch {
      // try the next place
    }
  }
  throw unavailable('runtime.shim_missing', 'redes-shim not found: run scripts/build-shim.sh (or set REDES_SHIM)');
}
