import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './run.js';
import { netnsAdd, netnsDelete, nsenterArgv } from './netns.js';

/** A stand-in for redes-nft speaking its protocol: "ok" applies, "die" exits, "off" has no library, else refused. */
const FAKE = `#!/usr/bin/env node
let buf = Buffer.alloc(0);
const reply = (status, text = '') => {
  const t = Buffer.from(text);
  const h = Buffer.alloc(8);
  h.writeUInt32LE(status, 0);
  h.writeUInt32LE(t.length, 4);
  process.stdout.write(Buffer.concat([h, t]));
};
process.stdin.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32LE(0)) {
    const script = buf.subarray(4, 4 + buf.readUInt32LE(0)).toString();
    buf = buf.subarray(4 + buf.readUInt32LE(0));
    if (script === 'ok\\n') reply(0);
    else if (script === 'die\\n') process.exit(1);
    else if (script === 'off\\n') reply(2, 'libnftables.so.1 is not available');
    else reply(1, 'Error: could not process rule: ' + script.trim());
  }
});
`;

test('the helper client: applied, refused with nft\'s text, a dead helper replaced, no library means unavailable', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'rnfth-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const bin = join(dir, 'redes-nft');
  await writeFile(bin, FAKE);
  await chmod(bin, 0o755);
  process.env.REDES_NFT_HELPER = bin;
  // The module resolves the binary when it first starts the helper: import after setting it.
  const { helperApply } = await import('./nft-helper.js');
  assert.equal(await helperApply('ok\n'), 'applied');
  // Scripts in flight together get their own replies, in order.
  const [a, b, c] = await Promise.allSettled([helperApply('ok\n'), helperApply('add rule nope\n'), helperApply('ok\n')]);
  assert.deepEqual([a.status, c.status], ['fulfilled', 'fulfilled']);
  assert.equal(b.status, 'rejected');
  assert.match(String((b as PromiseRejectedResult).reason), /could not process rule: add rule nope/);
  await assert.rejects(helperApply('die\n'), /redes-nft ended/);
  assert.equal(await helperApply('ok\n'), 'applied', 'a new helper takes the next script');
  assert.equal(await helperApply('off\n'), 'unavailable');
  assert.equal(await helperApply('ok\n'), 'unavailable', 'without the library the helper is not asked again');
});

/** Sends scripts to a real redes-nft (started in namespace `ns`); returns each reply's status and text. */
async function talk(ns: string, scripts: readonly string[]): Promise<Array<[number, string]>> {
  const bin = fileURLToPath(new URL('../../redes-nft', import.meta.url));
  const [cmd = '', ...args] = nsenterArgv(ns, [bin]);
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const frames = scripts.map((s) => {
    const body = Buffer.from(s);
    const h = Buffer.alloc(4);
    h.writeUInt32LE(body.length);
    return Buffer.concat([h, body]);
  });
  child.stdin.end(Buffer.concat(frames));
  const chunks: Buffer[] = [];
  for await (const d of child.stdout) chunks.push(d as Buffer);
  const code = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.on('exit', resolve)));
  assert.equal(code, 0, 'the helper ends when its input does');
  let out = Buffer.concat(chunks);
  const replies: Array<[number, string]> = [];
  while (out.length >= 8) {
    const len = out.readUInt32LE(4);
    replies.push([out.readUInt32LE(0), out.subarray(8, 8 + len).toString()]);
    out = out.subarray(8 + len);
  }
  return replies;
}

test('redes-nft applies each script as one transaction in its namespace and reports nft\'s errors', async (t) => {
  const ns = `rnft${randomBytes(4).toString('hex')}`;
  t.after(() => netnsDelete(ns));
  await netnsAdd(ns);
  const table = 'table inet rnftt {\nset s {\ntype ipv4_addr\n}\n}\n';
  const replies = await talk(ns, [table, 'add element inet rnftt s { 10.0.0.1 }\nadd element inet rnftt nope { 10.0.0.2 }\n', 'add element inet rnftt s { 10.0.0.3 }\n']);
  assert.deepEqual(replies.map(([s]) => s), [0, 1, 0]);
  assert.match(replies[1]?.[1] ?? '', /^Error: No such file or directory/);
  const listed = (await run(nsenterArgv(ns, ['nft', 'list', 'set', 'inet', 'rnftt', 's']))).stdout;
  // The refused script left nothing (10.0.0.1 was in the same transaction); the next one applied.
  assert.doesNotMatch(listed, /10\.0\.0\.1\b/);
  assert.match(listed, /10\.0\.0\.3/);
});
