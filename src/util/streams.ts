/** Stream helpers shared by the layers. */

/**
 * Resolves when a writable that refused a write drains, or when it closes (a reader that went away
 * must not leave the writer waiting forever).
 */
export function drainOrClose(stream: NodeJS.EventEmitter): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}
