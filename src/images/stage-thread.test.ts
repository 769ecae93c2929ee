import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { stageInThread } from './stage-thread.js';

test('staging that fails (no place to write, as on a full disk) still takes and hashes the whole blob', { timeout: 30_000 }, async () => {
  // Before: the decoder was left unread once staging failed, the worker stopped acknowledging and
  // the sender waited for `drained()` forever (a pull on a full disk hung).
  const job = stageInThread('/nonexistent/redes-stage-test', 'tar');
  const hash = createHash('sha256');
  let bytes = 0;
  for (let i = 0; i < 24; i++) {
    const piece = Buffer.alloc(1 << 20, i);
    hash.update(piece);
    bytes += piece.length;
    if (!job.write(piece)) await job.drained();
  }
  job.end();
  const r = await job.result;
  assert.ok(r.error, 'the staging error is reported');
  assert.equal(r.staged, undefined);
  assert.equal(r.bytes, bytes);
  assert.equal(r.digest, `sha256:${hash.digest('hex')}`);
});
