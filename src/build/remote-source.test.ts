import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dispositionFilename, downloadName, isUrlSource } from './remote-source.js';

test('a download is named by the URL path, else by Content-Disposition, else not at all', () => {
  assert.equal(downloadName('/files/app.tar.gz', 'attachment; filename="other.txt"'), 'app.tar.gz');
  assert.equal(downloadName('/files/', 'attachment; filename="other.txt"'), 'other.txt');
  assert.equal(downloadName('', 'attachment; filename=plain.bin'), 'plain.bin');
  assert.equal(downloadName('/files/', 'attachment; filename="../../etc/passwd"'), 'passwd');
  assert.equal(downloadName('/files/', 'attachment; filename="dir/"'), '');
  assert.equal(downloadName('/', undefined), '');
});

test('Content-Disposition: quoted, plain and RFC 5987 filenames', () => {
  assert.equal(dispositionFilename('attachment; filename="a \\"b\\".txt"'), 'a "b".txt');
  assert.equal(dispositionFilename("attachment; filename*=UTF-8''%C3%A9t%C3%A9.txt"), 'été.txt');
  assert.equal(dispositionFilename('inline'), '');
  assert.equal(dispositionFilename('attachment; size=3'), '');
});

test('only http:// and https:// sources are URLs, as dockerd decides', () => {
  assert.ok(isUrlSource('http://203.0.113.1/x'));
  assert.ok(isUrlSource('https://example.test/x'));
  assert.ok(!isUrlSource('HTTP://203.0.113.1/x'));
  assert.ok(!isUrlSource('git://example.test/repo'));
  assert.ok(!isUrlSource('files/http://x'));
});
