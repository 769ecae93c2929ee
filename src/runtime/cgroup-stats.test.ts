import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseKeyValues, parseNetDev } from './cgroup-stats.js';
import { parsePs } from './top.js';
import { splitDevT } from './devices.js';

test('/proc/net/dev by interface', () => {
  const text = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
  eth0:    1296      16    0    1    0     0          0         0      586       7    0    0    0     0       0          0
`;
  const d = parseNetDev(text);
  assert.deepEqual(Object.keys(d), ['lo', 'eth0']);
  assert.deepEqual(d.eth0, { rxBytes: 1296, rxPackets: 16, rxErrors: 0, rxDropped: 1, txBytes: 586, txPackets: 7, txErrors: 0, txDropped: 0 });
});

test('key-value cgroup files', () => {
  assert.deepEqual(parseKeyValues('oom_kill_disable 0\nunder_oom 0\noom_kill 2\n'), { oom_kill_disable: 0, under_oom: 0, oom_kill: 2 });
});

test('ps output cut to the container\'s pids, the command column keeping its spaces', () => {
  const ps = 'UID PID PPID C STIME TTY TIME CMD\nroot 1 0 0 16:05 ? 00:00:00 /sbin/init\nroot 42 1 0 16:05 ? 00:00:00 sleep 3600\n';
  assert.deepEqual(parsePs(ps, new Set([42])), { Titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'], Processes: [['root', '42', '1', '0', '16:05', '?', '00:00:00', 'sleep 3600']] });
  assert.throws(() => parsePs('USER CMD\n', new Set()), /Couldn't find PID field in ps output/);
});

test('dev_t splits into major and minor', () => {
  assert.deepEqual(splitDevT((10 << 8) | 200), { major: 10, minor: 200 });
  assert.deepEqual(splitDevT(0x10305), { major: 0x103, minor: 5 });
});
