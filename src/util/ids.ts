/** Identifiers as Docker makes them: 64 lowercase hex digits. */
import { randomBytes } from 'node:crypto';

export function newId(): string {
  // Docker re-draws ids that look like numbers in scientific notation; an id of digits only is
  // ambiguous with a short id, so we re-draw until there is at least one letter.
  for (;;) {
    const id = randomBytes(32).toString('hex');
    if (/[a-f]/.test(id.slice(0, 12))) return id;
  }
}
