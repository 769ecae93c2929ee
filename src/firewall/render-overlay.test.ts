// Golden files of the overlay guard (testdata/overlay-*.nft; REDES_UPDATE_GOLDEN=1 rewrites them),
// each checked by nft itself in a throwaway unnamed namespace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { renderOverlayGuard, renderOverlayGuardTeardown } from './render-overlay.js';

const testdata = fileURLToPath(new URL('../../../src/firewall/testdata/', import.meta.url));

function golden(name: string, text: string): void {
  const file = join(testdata, name);
  if (process.env.REDES_UPDATE_GOLDEN === '1' || !existsSync(file)) writeFileSync(file, text);
  assert.equal(text, readFileSync(file, 'utf8'), `${name} drifted (REDES_UPDATE_GOLDEN=1 rewrites it)`);
}

function nftCheck(text: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'redes-nftc-'));
  try {
    writeFileSync(join(dir, 'r.nft'), text);
    // Apply for real in a namespace of its own (nft -c cannot check a delete of a missing table).
    const r = spawnSync('unshare', ['--net', 'nft', '-f', join(dir, 'r.nft')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('encrypted VNIs: UDP 4789 for them is dropped unless it came through WireGuard', () => {
  const text = renderOverlayGuard({ table: 'redes', wireguardIf: 'wg-0123456789ab', encryptedVnis: [5000, 4097, 5000] });
  golden('overlay-encrypted.nft', text);
  nftCheck(text);
});

test('no encrypted network: the chain holds no rule; teardown always applies', () => {
  const text = renderOverlayGuard({ table: 'redes', wireguardIf: 'wg-0123456789ab', encryptedVnis: [] });
  golden('overlay-none.nft', text);
  assert.doesNotMatch(text, /drop/);
  nftCheck(text);
  nftCheck(renderOverlayGuardTeardown('redes'));
});
