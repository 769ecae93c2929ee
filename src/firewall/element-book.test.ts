import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ElementBook } from './element-book.js';

interface Item {
  ip: string;
  port: number;
}

test('sharing gives every owner\'s items under the given items\' keys, after the change, and nothing else', () => {
  const book = new ElementBook<Item>((i) => i.ip);
  book.set('a', [{ ip: '1', port: 80 }, { ip: '2', port: 81 }]);
  book.set('b', [{ ip: '1', port: 90 }]);
  book.set('c', [{ ip: '3', port: 70 }]);
  const before = book.set('a', [{ ip: '2', port: 81 }]);
  assert.deepEqual(before, [{ ip: '1', port: 80 }, { ip: '2', port: 81 }]);
  assert.deepEqual(book.sharing([{ ip: '1', port: 80 }]), [{ ip: '1', port: 90 }]);
  assert.deepEqual(book.sharing([{ ip: '2', port: 0 }, { ip: '3', port: 0 }]).sort((x, y) => x.port - y.port), [{ ip: '3', port: 70 }, { ip: '2', port: 81 }]);
  book.set('b', []);
  assert.deepEqual(book.sharing([{ ip: '1', port: 80 }]), []);
  assert.deepEqual(book.ownerIds(), ['a', 'c']);
  assert.deepEqual(book.all(), [{ ip: '2', port: 81 }, { ip: '3', port: 70 }]);
  assert.deepEqual(book.get('b'), []);
});
