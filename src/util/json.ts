/**
 * JSON from clients: `parseJson` is JSON.parse after a check of the nesting depth, so that a deeply
 * nested body (`[[[[…]]]]`, which JSON.parse accepts) never reaches the recursive code behind it
 * (JSON.stringify, structuredClone and our own walks overflow the stack near 10000 levels).
 * Use: `parseJson(text)` wherever JSON.parse would take a request's body, query or header.
 * Beware: it throws a SyntaxError as JSON.parse does (Go's encoding/json text for the depth), so
 * callers keep one catch for both.
 */

/** Far above any request Docker's clients send (a handful of levels), far below the stack's limit. */
export const MAX_JSON_DEPTH = 1000;

export function parseJson(text: string): unknown {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_JSON_DEPTH) throw new SyntaxError('exceeded max depth');
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return JSON.parse(text);
}
