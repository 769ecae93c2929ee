import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bridgeName, derivedVni, OVERLAY_OPT, parseOverlayOptions, shownOverlayOptions, VNI_MAX, VNI_MIN, vxlanName } from './options.js';

const ID = 'a1b2c3d4e5f6'.padEnd(64, '0');

test('defaults: VNI derived from the id in Docker range, not encrypted, MTU left to the host', () => {
  const o = parseOverlayOptions({}, ID);
  assert.equal(o.vni, derivedVni(ID));
  assert.ok(o.vni >= VNI_MIN && o.vni <= VNI_MAX);
  assert.equal(o.encrypted, false);
  assert.equal(o.mtu, undefined);
  assert.equal(derivedVni('f'.repeat(64)), VNI_MIN + (0xffffff % (VNI_MAX - VNI_MIN + 1)));
  assert.deepEqual(shownOverlayOptions({}, o), { [OVERLAY_OPT.vxlanIds]: String(o.vni) });
});

test('given options: vxlanid_list, mtu, encrypted (bare, as `--opt encrypted` sends it)', () => {
  const raw = { [OVERLAY_OPT.vxlanIds]: '5000', [OVERLAY_OPT.mtu]: '1400', encrypted: '' };
  assert.deepEqual(parseOverlayOptions(raw, ID), { vni: 5000, mtu: 1400, encrypted: true });
  assert.deepEqual(shownOverlayOptions(raw, parseOverlayOptions(raw, ID)), raw);
  assert.equal(parseOverlayOptions({ encrypted: 'false' }, ID).encrypted, false);
});

test('bad options are refused by name', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ parent: 'eth0' }, /unknown option "parent"/],
    [{ [OVERLAY_OPT.vxlanIds]: '4097,4098' }, /invalid vxlan id value "4097,4098"/],
    [{ [OVERLAY_OPT.vxlanIds]: '0' }, /invalid vxlan id/],
    [{ [OVERLAY_OPT.vxlanIds]: '16777216' }, /invalid vxlan id/],
    [{ [OVERLAY_OPT.mtu]: 'big' }, /invalid MTU "big"/],
    [{ [OVERLAY_OPT.mtu]: '20' }, /invalid MTU/],
    [{ encrypted: 'yes' }, /option encrypted/],
  ];
  for (const [raw, re] of cases) assert.throws(() => parseOverlayOptions(raw, ID), re, JSON.stringify(raw));
});

test('link names fit in 15 bytes and differ per network', () => {
  assert.equal(bridgeName(ID), 'ov-a1b2c3d4e5f6');
  assert.equal(vxlanName(ID), 'vx-a1b2c3d4e5f6');
  assert.ok(bridgeName(ID).length <= 15);
});
