import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Collection, Store } from './db.js';

interface Doc {
  id: string;
  value: number;
}

test('documents survive closing and reopening the database', () => {
  const dir = mkdtempSync(join(tmpdir(), 'redes-store-'));
  try {
    const path = join(dir, 'state.db');
    const s = Store.open(path);
    s.collection<Doc>('things').put({ id: 'a', value: 1 });
    s.allocate({ networkId: 'n1', address: '10.0.0.2', owner: 'e1' });
    s.close();
    const s2 = Store.open(path);
    assert.deepEqual(s2.collection<Doc>('things').get('a'), { id: 'a', value: 1 });
    assert.deepEqual(s2.allocations('n1'), [{ networkId: 'n1', address: '10.0.0.2', owner: 'e1' }]);
    s2.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a transaction that throws writes nothing', () => {
  const s = Store.open(':memory:');
  assert.throws(() =>
    s.transaction(() => {
      s.collection<Doc>('things').put({ id: 'b', value: 2 });
      s.allocate({ networkId: 'n1', address: '10.0.0.3', owner: 'e1' });
      s.allocate({ networkId: 'n1', address: '10.0.0.3', owner: 'e2' }); // duplicate address
    }),
  );
  assert.equal(s.collection<Doc>('things').get('b'), undefined);
  assert.deepEqual(s.allocations('n1'), []);
});

test('releasing an owner frees only its addresses', () => {
  const s = Store.open(':memory:');
  s.allocate({ networkId: 'n1', address: '10.0.0.2', owner: 'e1' });
  s.allocate({ networkId: 'n1', address: '10.0.0.3', owner: 'e2' });
  s.releaseOwner('e1');
  assert.deepEqual(
    s.allocations('n1').map((a) => a.address),
    ['10.0.0.3'],
  );
});

test('findBy gives the first document whose field equals the value, in this collection only', () => {
  const dir = mkdtempSync(join(tmpdir(), 'redes-store-'));
  try {
    const s = Store.open(join(dir, 'state.db'));
    const c = s.collection<{ id: string; name: string }>('named');
    s.collection<{ id: string; name: string }>('other').put({ id: 'o', name: 'web' });
    c.put({ id: 'a', name: 'db' });
    c.put({ id: 'b', name: 'web' });
    c.put({ id: 'c', name: 'web' });
    assert.equal(c.findBy('name', 'web')?.id, 'b');
    assert.equal(c.findBy('name', 'nope'), undefined);
    assert.equal(c.findBy('name', 'a'), undefined, 'an id is not a name');
    assert.throws(() => c.findBy('name)--', 'x'), /bad field name/);
    // A lookup by name must not read every document (a container create does one): it uses docs_name.
    assert.match(c.findPlan('name').join('\n'), /USING INDEX docs_name \(collection=\? AND <expr>=\?\)/);
    s.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file database keeps room for writes on a full disk: free pages in the file and a WAL as large', async () => {
  const { RESERVE_PAGES, isDiskFull } = await import('./room.js');
  const { statSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'redes-store-'));
  try {
    const path = join(dir, 'state.db');
    const s = Store.open(path);
    const pageSize = 4096;
    assert.ok(statSync(path).size >= RESERVE_PAGES * pageSize, `the database file holds the room (${statSync(path).size} bytes)`);
    assert.ok(statSync(`${path}-wal`).size >= RESERVE_PAGES * pageSize, 'so does the WAL, which SQLite reuses from its start');
    for (let i = 0; i < 200; i++) s.collection<Doc>('things').put({ id: `d${i}`, value: i });
    assert.equal(s.collection<Doc>('things').list().length, 200);
    s.close();
    assert.equal(isDiskFull(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })), true);
    assert.equal(isDiskFull(Object.assign(new Error('x'), { code: 'ENOSPC' })), true);
    assert.equal(isDiskFull(Object.assign(new Error('x'), { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' })), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a document whose write finds the disk full is read from memory until it can be written', () => {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE docs (collection TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (collection, id))');
  let full = false;
  const write = <R>(fn: () => R): R => {
    if (full) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    return fn();
  };
  const c = new Collection<Doc & { name: string }>(db, 'things', write);
  c.put({ id: 'a', value: 1, name: 'one' });
  c.put({ id: 'b', value: 2, name: 'two' });
  full = true;
  assert.equal(c.putOrKeep({ id: 'a', value: 137, name: 'one' }), false);
  assert.equal(c.putOrKeep({ id: 'c', value: 3, name: 'three' }), false);
  assert.deepEqual(c.get('a'), { id: 'a', value: 137, name: 'one' });
  assert.deepEqual(c.findBy('name', 'one'), { id: 'a', value: 137, name: 'one' });
  assert.deepEqual(c.findBy('name', 'three')?.id, 'c');
  assert.deepEqual(c.list().map((d) => [d.id, d.value]), [['a', 137], ['b', 2], ['c', 3]]);
  assert.throws(() => c.flushKept(), /disk is full/);
  assert.deepEqual(db.prepare("SELECT doc FROM docs WHERE id = 'a'").pluck().get(), JSON.stringify({ id: 'a', value: 1, name: 'one' }), 'not on disk yet');
  full = false;
  c.flushKept();
  assert.deepEqual(JSON.parse(db.prepare("SELECT doc FROM docs WHERE id = 'a'").pluck().get() as string), { id: 'a', value: 137, name: 'one' });
  assert.equal(c.list().length, 3);
  assert.equal(c.putOrKeep({ id: 'b', value: 4, name: 'two' }), true);
  const other = new Collection<Doc>(db, 'other', () => {
    throw Object.assign(new Error('constraint failed'), { code: 'SQLITE_CONSTRAINT' });
  });
  assert.throws(() => other.putOrKeep({ id: 'x', value: 0 }), /constraint failed/, 'only a full disk is kept in memory');
  assert.equal(other.get('x'), undefined);
});

test('isAllocated looks one address up; every release is announced with its network and address', () => {
  const s = Store.open(':memory:');
  const heard: Array<[string, string | undefined]> = [];
  s.onRelease((n, a) => heard.push([n, a]));
  s.allocate({ networkId: 'n1', address: '10.0.0.2', owner: 'e1' });
  s.allocate({ networkId: 'n1', address: 'fd00::2', owner: 'e1' });
  s.allocate({ networkId: 'n2', address: '10.1.0.2', owner: 'e2' });
  assert.equal(s.isAllocated('n1', '10.0.0.2'), true);
  assert.equal(s.isAllocated('n2', '10.0.0.2'), false);
  s.releaseOwner('e1');
  assert.equal(s.isAllocated('n1', '10.0.0.2'), false);
  s.releaseNetwork('n2');
  assert.deepEqual(heard, [['n1', '10.0.0.2'], ['n1', 'fd00::2'], ['n2', undefined]]);
  s.close();
});
