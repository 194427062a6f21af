import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createBus } from '../../static/js/modules/bus.js';

test('emit reaches every handler of the type, in order', () => {
  const bus = createBus();
  const seen = [];
  bus.on('a', (p) => seen.push(['1', p]));
  bus.on('a', (p) => seen.push(['2', p]));
  bus.on('b', () => seen.push(['b']));
  bus.emit('a', 42);
  assert.deepEqual(seen, [['1', 42], ['2', 42]]);
});

test('unsubscribe stops delivery', () => {
  const bus = createBus();
  let calls = 0;
  const off = bus.on('a', () => { calls += 1; });
  bus.emit('a');
  off();
  bus.emit('a');
  assert.equal(calls, 1);
  assert.equal(bus.count('a'), 0);
});

test('a throwing handler does not stop the others', (t) => {
  const bus = createBus();
  t.mock.method(console, 'error', () => {});
  let reached = false;
  bus.on('a', () => { throw new Error('boom'); });
  bus.on('a', () => { reached = true; });
  bus.emit('a');
  assert.equal(reached, true);
});

test('emitting a type nobody listens to is fine', () => {
  createBus().emit('personne', {});
});

test('gather waits for the work the handlers hand over', async () => {
  const bus = createBus();
  const done = [];
  bus.on('reload', ({ wait, reason }) => wait(Promise.resolve().then(() => done.push(`a:${reason}`))));
  bus.on('reload', () => done.push('b')); // a handler that starts nothing
  bus.on('reload', ({ wait }) => wait(new Promise((r) => { setTimeout(() => { done.push('c'); r(); }, 5); })));
  await bus.gather('reload', { reason: 'ws' });
  assert.deepEqual(done, ['b', 'a:ws', 'c']);
  await bus.gather('personne');
});

test('gather rejects with the first failure', async () => {
  const bus = createBus();
  const failure = Object.assign(new Error('Clé API requise ou invalide.'), { status: 401 });
  bus.on('reload', ({ wait }) => wait(Promise.reject(failure)));
  bus.on('reload', ({ wait }) => wait(Promise.resolve()));
  await assert.rejects(bus.gather('reload'), failure);
});
