import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { armedInFile } from './failpoints.js';

const MODULE = fileURLToPath(new URL('./failpoints.js', import.meta.url));

/**
 * A node process that reaches 'network.create.after-record', then, after writing `then` into the
 * arm file itself, reaches it again; prints a line after each. Returns its signal and output.
 */
function reach(env: Record<string, string>, then: string): { signal: NodeJS.Signals | null; stdout: string } {
  const code = [
    `const { failpoint } = await import(${JSON.stringify(MODULE)});`,
    `const { writeFileSync } = await import('node:fs');`,
    `failpoint('network.create.after-record'); console.log('passed once');`,
    `if (process.env.REDES_FAILPOINT_FILE) writeFileSync(process.env.REDES_FAILPOINT_FILE, ${JSON.stringify(then)});`,
    `failpoint('network.create.after-record'); console.log('passed twice');`,
  ].join('\n');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 30_000 });
  return { signal: r.signal, stdout: r.stdout };
}

test('a failpoint named in REDES_FAILPOINT kills the process with SIGKILL; another name does not', () => {
  assert.deepEqual(reach({ REDES_FAILPOINT: 'network.create.after-record' }, ''), { signal: 'SIGKILL', stdout: '' });
  assert.deepEqual(reach({ REDES_FAILPOINT: 'network.rm.after-driver' }, ''), { signal: null, stdout: 'passed once\npassed twice\n' });
  assert.deepEqual(reach({}, ''), { signal: null, stdout: 'passed once\npassed twice\n' });
});

test('REDES_FAILPOINT_FILE arms the failpoint the file names when it is reached, not before', () => {
  const dir = mkdtempSync(join(tmpdir(), 'redes-fp-'));
  try {
    const file = join(dir, 'failpoint');
    // Missing file: unarmed; then armed by the process itself between the two reaches.
    assert.deepEqual(reach({ REDES_FAILPOINT_FILE: file }, 'network.create.after-record\n'), { signal: 'SIGKILL', stdout: 'passed once\n' });
    writeFileSync(file, '');
    assert.deepEqual(reach({ REDES_FAILPOINT_FILE: file }, 'container.create.after-dir'), { signal: null, stdout: 'passed once\npassed twice\n' });
    assert.equal(armedInFile(file), 'container.create.after-dir');
    assert.equal(armedInFile(join(dir, 'none')), '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
