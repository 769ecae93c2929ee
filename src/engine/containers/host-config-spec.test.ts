import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkHostResources, parseCpuList, parseDeviceRule, resourcesOf } from './host-config-spec.js';

test('limits map to runc\'s resources as Docker maps them', () => {
  const hc: Record<string, unknown> = { Memory: 32 << 20, NanoCpus: 1.5e9, CpuShares: 512, CpusetCpus: '0', PidsLimit: 10, OomKillDisable: true, MemorySwappiness: -1 };
  checkHostResources(hc, 2);
  assert.equal(hc.MemorySwap, 64 << 20);
  assert.deepEqual(resourcesOf(hc), {
    memory: { limit: 32 << 20, swap: 64 << 20, disableOOMKiller: true },
    cpu: { shares: 512, period: 100000, quota: 150000, cpus: '0' },
    pids: { limit: 10 },
  });
  assert.deepEqual(resourcesOf({ MemorySwappiness: -1, PidsLimit: 0 }), {});
});

test('Docker\'s resource errors', () => {
  assert.throws(() => checkHostResources({ Memory: 1 << 20 }, 2), /Minimum memory limit allowed is 6MB/);
  assert.throws(() => checkHostResources({ MemorySwap: 64 << 20 }, 2), /always set the Memory limit/);
  assert.throws(() => checkHostResources({ Memory: 64 << 20, MemorySwap: 32 << 20 }, 2), /memoryswap limit should be larger/);
  assert.throws(() => checkHostResources({ NanoCpus: 3e9 }, 2), /Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available/);
  assert.throws(() => checkHostResources({ NanoCpus: 1e9, CpuPeriod: 50000 }, 2), /Nano CPUs and CPU Period cannot both be set/);
  assert.throws(() => checkHostResources({ CpusetCpus: '0-3' }, 2), /Requested CPUs are not available - requested 0-3, available: 0-1/);
  assert.throws(() => checkHostResources({ CpusetCpus: 'x' }, 2), /Invalid value x for cpuset cpus/);
  assert.throws(() => checkHostResources({ MemorySwappiness: 200 }, 2), /valid memory swappiness range is 0-100/);
});

test('cpu lists and device cgroup rules', () => {
  assert.deepEqual(parseCpuList('0-2,5'), [0, 1, 2, 5]);
  assert.equal(parseCpuList('2-1'), undefined);
  assert.deepEqual(parseDeviceRule('c 10:200 rwm'), { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' });
  assert.deepEqual(parseDeviceRule('b *:* r'), { allow: true, type: 'b', access: 'r' });
  assert.throws(() => parseDeviceRule('x 1:2'), /invalid device cgroup format/);
});
