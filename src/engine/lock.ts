/** Serialises async critical sections (create/remove must see each other's effects). */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  run<T>(fn: () => Promise<T>): Promise<T> {
    this.pending++;
    const next = this.tail.then(fn, fn).finally(() => this.pending--);
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** True while a section runs or waits (the consistency checker repairs only an idle engine). */
  get busy(): boolean {
    return this.pending > 0;
  }
}
