import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  chartSeries, coalesce, frameThrottle, mergeRequests, oldestId,
} from '../../static/js/modules/window.js';
import { authMessage, reconnectDelay, socketUrl } from '../../static/js/modules/socket.js';

const row = (id) => ({ id, prompt_tokens: id * 10, completion_tokens: id });

test('merge keeps newest first, drops duplicates and rows without id, caps', () => {
  const { rows, dropped } = mergeRequests([row(3), row(1)], [row(2), row(3), { id: null }], 2);
  assert.deepEqual(rows.map((r) => r.id), [3, 2]);
  assert.equal(dropped, 1);
  assert.equal(oldestId(rows), 2);
  assert.equal(oldestId([]), null);
});

test('chart series is oldest first and bounded', () => {
  const series = chartSeries([row(3), row(2), row(1)], 2);
  assert.deepEqual(series.labels, ['n° 2', 'n° 3']);
  assert.deepEqual(series.prompt, [20, 30]);
  assert.deepEqual(series.completion, [2, 3]);
});

test('frameThrottle runs once per frame', () => {
  let runs = 0;
  const queue = [];
  const draw = frameThrottle(() => { runs += 1; }, (cb) => queue.push(cb));
  draw(); draw(); draw();
  assert.equal(queue.length, 1);
  queue.shift()();
  assert.equal(runs, 1);
  draw();
  assert.equal(queue.length, 1);
});

test('coalesce runs once more when asked while running', async () => {
  let runs = 0;
  let release;
  const task = coalesce(() => { runs += 1; return new Promise((r) => { release = r; }); });
  const first = task();
  task(); task();
  release();
  await new Promise((r) => setImmediate(r));
  release();
  await first;
  assert.equal(runs, 2);
});

test('reconnect delay grows and is capped', () => {
  assert.equal(reconnectDelay(0), 250);
  assert.equal(reconnectDelay(2), 1000);
  assert.equal(reconnectDelay(50), 5000);
});

test('socket url follows the page scheme and never carries the key', () => {
  assert.equal(socketUrl({ protocol: 'http:', host: '127.0.0.1:8000' }), 'ws://127.0.0.1:8000/ws');
  assert.equal(socketUrl({ protocol: 'https:', host: 'h' }), 'wss://h/ws');
});

test('the key goes in the first message, only when there is one', () => {
  assert.equal(authMessage(''), null);
  assert.deepEqual(JSON.parse(authMessage('a&b')), { type: 'auth', token: 'a&b' });
});
