/**
 * Maps keyed by names users choose (network names, aux-address names): own properties only.
 *
 * Use: `ownGet(rec.endpoints, net.name)` and `ownSet(rec.endpoints, net.name, ep)` instead of
 * `map[name]` reads and writes.
 * Beware: Docker accepts any network name, `__proto__`, `constructor` and `toString` included. A plain
 * `map[name]` read finds Object.prototype's members for those, and `map['__proto__'] = x` replaces the
 * object's prototype instead of adding a key (the entry then vanishes from JSON and Object.entries).
 */

/** The map's own entry `key`, never an inherited member. */
export function ownGet<T>(map: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}

/** Adds or replaces the own entry `key` (a data property, even for `__proto__`). */
export function ownSet<T>(map: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(map, key, { value, writable: true, enumerable: true, configurable: true });
}
