import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { pipeThrough } from './pipe-through.js';
import { CommandError } from './run.js';

async function* pieces(b: Buffer, size: number, fail?: Error): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
  if (fail) throw fail;
}

const collect = async (it: AsyncIterable<Buffer>): Promise<Buffer[]> => {
  const out: Buffer[] = [];
  for await (const c of it) out.push(c);
  return out;
};

test('bytes pass through the program unchanged, in pieces of about 1 MiB', async () => {
  const data = randomBytes((3 << 20) + 12345);
  const out = await collect(pipeThrough(['cat'], pieces(data, 50_000)));
  assert.ok(Buffer.concat(out).equals(data));
  assert.ok(out.length <= 4, `${out.length} pieces`);
});

test("a failing program is a CommandError with its stderr", async () => {
  const err = await collect(pipeThrough(['sh', '-c', 'cat >/dev/null; echo broken >&2; exit 3'], pieces(Buffer.from('x'), 1))).catch((e: unknown) => e);
  assert.ok(err instanceof CommandError);
  assert.equal(err.result.code, 3);
  assert.match(err.result.stderr, /broken/);
});

test('an error of the input is thrown as it was', async () => {
  const boom = new Error('input broke');
  const err = await collect(pipeThrough(['cat'], pieces(randomBytes(100_000), 10_000, boom))).catch((e: unknown) => e);
  assert.equal(err, boom);
});

test('a program that does not exist is refused at the first read', async () => {
  const err = await collect(pipeThrough(['/nonexistent/prog'], pieces(Buffer.from('x'), 1))).catch((e: unknown) => e);
  assert.equal((err as NodeJS.ErrnoException).code, 'ENOENT');
});
