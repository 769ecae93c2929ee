import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyChanges, goDuration } from './changes.js';
import { familiarTagged, parseNamed, tagKey } from './reference.js';

test('applyChanges takes JSON and shell forms of CMD and ENTRYPOINT', () => {
  assert.deepEqual(applyChanges({}, ['CMD ["httpd","-f"]']).Cmd, ['httpd', '-f']);
  assert.deepEqual(applyChanges({}, ['CMD echo $HOME']).Cmd, ['/bin/sh', '-c', 'echo $HOME']);
  assert.deepEqual(applyChanges({}, ['cmd [not json']).Cmd, ['/bin/sh', '-c', '[not json']);
  const c = applyChanges({ Cmd: ['old'] }, ['ENTRYPOINT ["/bin/sh"]']);
  assert.deepEqual(c.Entrypoint, ['/bin/sh']);
  assert.equal(c.Cmd, undefined, 'ENTRYPOINT clears an inherited Cmd');
  const both = applyChanges({}, ['CMD ["-c","x"]', 'ENTRYPOINT ["sh"]']);
  assert.deepEqual(both.Cmd, ['-c', 'x'], 'but not one set by an earlier CMD');
});

test('applyChanges sets ENV in both forms, expanding earlier values', () => {
  const c = applyChanges({ Env: ['PATH=/bin'] }, ['ENV A=1 B="two words"', 'ENV PATH=$PATH:/opt/bin', 'ENV LEGACY some value', 'ENV C=${A:-x}${NOPE:-d}']);
  assert.deepEqual(c.Env, ['PATH=/bin:/opt/bin', 'A=1', 'B=two words', 'LEGACY=some value', 'C=1d']);
  assert.throws(() => applyChanges({}, ['ENV A=1 B']), /can't find = in "B"/);
});

test('applyChanges handles EXPOSE, WORKDIR, USER, LABEL, VOLUME, STOPSIGNAL, HEALTHCHECK, ONBUILD', () => {
  const c = applyChanges({}, [
    'EXPOSE 80 53/udp 8000-8001',
    'WORKDIR /srv',
    'WORKDIR www',
    'USER nobody',
    'LABEL a=b "c d"="e f"',
    'VOLUME ["/data"]',
    'STOPSIGNAL SIGKILL',
    'HEALTHCHECK --interval=1m30s --retries=3 CMD wget -q localhost',
    'ONBUILD RUN echo hi',
  ]);
  assert.deepEqual(Object.keys(c.ExposedPorts ?? {}), ['80/tcp', '53/udp', '8000/tcp', '8001/tcp']);
  assert.equal(c.WorkingDir, '/srv/www');
  assert.equal(c.User, 'nobody');
  assert.deepEqual(c.Labels, { a: 'b', 'c d': 'e f' });
  assert.deepEqual(c.Volumes, { '/data': {} });
  assert.equal(c.StopSignal, 'SIGKILL');
  assert.deepEqual(c.Healthcheck, { Interval: 90e9, Retries: 3, Test: ['CMD-SHELL', 'wget -q localhost'] });
  assert.deepEqual(c.OnBuild, ['RUN echo hi']);
  assert.throws(() => applyChanges({}, ['EXPOSE 99999']), /invalid containerPort: 99999/);
});

test('applyChanges refuses instructions Docker does not accept as changes', () => {
  assert.throws(() => applyChanges({}, ['RUN echo hi']), /^Error: run is not a valid change command$|run is not a valid change command/);
  assert.throws(() => applyChanges({}, ['CMD ["a"]', 'FROM x']), /from is not a valid change command/);
  assert.deepEqual(applyChanges({ User: 'x' }, []), { User: 'x' });
});

test('goDuration parses Go durations into nanoseconds', () => {
  assert.equal(goDuration('500ms'), 5e8);
  assert.equal(goDuration('1h2m3s'), 3723e9);
  assert.throws(() => goDuration('5'), /invalid duration/);
});

test('parseNamed normalizes names like Docker and reports its errors', () => {
  assert.deepEqual(parseNamed('busybox'), { name: 'docker.io/library/busybox' });
  assert.deepEqual(parseNamed('localhost:5000/a/b:v1'), { name: 'localhost:5000/a/b', tag: 'v1' });
  assert.equal(familiarTagged(parseNamed('docker.io/library/busybox')), 'busybox:latest');
  assert.equal(familiarTagged(parseNamed('index.docker.io/team/app:2')), 'team/app:2');
  assert.throws(() => parseNamed('Busybox'), /invalid reference format: repository name \(library\/Busybox\) must be lowercase/);
  assert.throws(() => parseNamed('a:b:c'), /^RedesError: invalid reference format$|invalid reference format/);
  assert.throws(() => parseNamed('a'.repeat(64).replace(/a/g, 'f')), /cannot specify 64-byte hexadecimal strings/);
  assert.equal(tagKey('myimg', 'v2'), 'myimg:v2');
  assert.equal(tagKey('registry.example:5000/x'), 'registry.example:5000/x:latest');
  assert.throws(() => tagKey('x', 'bad tag'), /invalid reference format/);
});
