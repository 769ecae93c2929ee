/**
 * One kind of firewall element (published ports, links, guarded endpoints) by owner, indexed by the
 * key under which two owners can share a kernel element: what a delta that removes an owner's
 * elements must look at to keep those another owner still needs.
 *
 * Use: `const before = book.set(owner, items)`, then `book.sharing(removed)`: the items of every
 * owner (after the change) whose share key is one of `removed`'s. `all()` is the full render's view.
 *
 * Beware: `sharing` costs the owners of those keys, never all owners: flattening every owner's
 * elements on each change made every container start and stop cost O(containers).
 */
export class ElementBook<T> {
  private readonly byOwner = new Map<string, readonly T[]>();
  /** share key → owners holding an item with that key. */
  private readonly owners = new Map<string, Set<string>>();

  constructor(private readonly shareKey: (item: T) => string) {}

  get(owner: string): readonly T[] {
    return this.byOwner.get(owner) ?? [];
  }

  /** Replaces `owner`'s items (none: forgets it); returns those it had. */
  set(owner: string, items: readonly T[]): readonly T[] {
    const before = this.get(owner);
    for (const k of new Set(before.map(this.shareKey))) {
      const set = this.owners.get(k);
      set?.delete(owner);
      if (set && !set.size) this.owners.delete(k);
    }
    if (!items.length) {
      this.byOwner.delete(owner);
      return before;
    }
    this.byOwner.set(owner, [...items]);
    for (const k of new Set(items.map(this.shareKey))) {
      const set = this.owners.get(k) ?? new Set<string>();
      set.add(owner);
      this.owners.set(k, set);
    }
    return before;
  }

  /** The items (of every owner; the renders sort elements, so order is free) whose share key is one of `of`'s. */
  sharing(of: readonly T[]): T[] {
    const keys = new Set(of.map(this.shareKey));
    const owners = new Set<string>();
    for (const k of keys) for (const o of this.owners.get(k) ?? []) owners.add(o);
    return [...owners].flatMap((o) => this.get(o).filter((i) => keys.has(this.shareKey(i))));
  }

  all(): T[] {
    return [...this.byOwner.values()].flat();
  }

  ownerIds(): string[] {
    return [...this.byOwner.keys()];
  }
}
