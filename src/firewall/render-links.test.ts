import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { renderLinkDelta } from './render-links.js';
import { renderRuleset } from './render.js';

const l = (src: string, port: number) => ({ src, dst: '172.17.0.2', proto: 'tcp', port }) as const;

test('a link delta removes and adds only link elements, keeping those another owner still needs', () => {
  assert.equal(renderLinkDelta('redes', [l('172.17.0.3', 443)], [l('172.17.0.3', 80)], [l('172.17.0.3', 443)]), [
    'delete element inet redes links4 { 172.17.0.3 . 172.17.0.2 . tcp . 80 }',
    'add element inet redes links4 { 172.17.0.3 . 172.17.0.2 . tcp . 443 }',
    '',
  ].join('\n'));
  assert.equal(renderLinkDelta('redes', [], [l('172.17.0.3', 80)], [l('172.17.0.3', 80)]), '');
});

test('a link delta applies on top of the full ruleset (nft in a throwaway namespace)', () => {
  const net = { id: 'd'.repeat(64), bridge: 'docker0', subnetsV4: ['172.17.0.0/16'], subnetsV6: [], gatewaysV4: ['172.17.0.1'], internal: false, masquerade: true, icc: false };
  const script = [
    renderRuleset({ table: 'redes', networks: [net], links: [l('172.17.0.3', 80)] }),
    renderLinkDelta('redes', [l('172.17.0.4', 8080)], [l('172.17.0.3', 80)], [l('172.17.0.4', 8080)]),
  ].join('');
  const r = spawnSync('unshare', ['--net', 'sh', '-c', 'nft -f - && nft list set inet redes links4'], { input: script, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /172\.17\.0\.4 \. 172\.17\.0\.2 \. tcp \. 8080/);
  assert.doesNotMatch(r.stdout, /172\.17\.0\.3/);
});
