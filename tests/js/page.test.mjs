import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createBus } from '../../static/js/modules/bus.js';
import { setupPage } from '../../static/js/modules/page.js';
import { FakeElement, installFakeDom } from './support/fake_dom.mjs';

function page(t) {
  const banner = new FakeElement('div', { id: 'banner', hidden: true });
  const state = new FakeElement('p', { id: 'conn-state' });
  const dom = installFakeDom([banner, state]);
  const prompts = [];
  globalThis.window = { prompt: (text) => { prompts.push(text); return null; } };
  t.after(() => { dom.restore(); delete globalThis.window; });
  const bus = createBus();
  const toasts = [];
  bus.on('toast', (message) => toasts.push(message));
  return { banner, state, body: document.body, prompts, bus, toasts };
}

test('the full reload waits for every panel, then the page is no longer stale', async (t) => {
  const { body, bus, toasts } = page(t);
  const { refreshAll } = setupPage({ bus });
  let release;
  bus.on('dashboard:refresh', ({ wait }) => wait(new Promise((r) => { release = r; })));
  body.classList.add('stale');
  const done = refreshAll();
  assert.equal(body.classList.contains('loading'), true);
  release();
  await done;
  assert.equal(body.classList.contains('loading'), false);
  assert.equal(body.classList.contains('stale'), false);
  assert.deepEqual(toasts, []);
});

test('a failed reload says so on the bus and asks for the key on a 401', async (t) => {
  const { body, prompts, bus, toasts } = page(t);
  const { refreshAll } = setupPage({ bus });
  const refused = Object.assign(new Error('Clé API requise ou invalide.'), { status: 401 });
  bus.on('dashboard:refresh', ({ wait }) => wait(Promise.reject(refused)));
  body.classList.add('stale');
  await refreshAll();
  assert.deepEqual(toasts, [{ text: 'Chargement impossible : Clé API requise ou invalide.', error: true }]);
  assert.equal(prompts.length, 1);
  assert.equal(body.classList.contains('stale'), true);
  assert.equal(body.classList.contains('loading'), false);
});

test('connection state follows /ws; a reconnection reloads everything', (t) => {
  const { banner, state, body, bus } = page(t);
  setupPage({ bus });
  let reloads = 0;
  bus.on('dashboard:refresh', () => { reloads += 1; });
  bus.emit('ws:lost', { attempt: 0 });
  assert.equal(banner.hidden, false);
  assert.equal(state.textContent, 'Déconnecté');
  assert.equal(body.classList.contains('stale'), true);
  bus.emit('ws:open', { reconnected: true });
  assert.equal(banner.hidden, true);
  assert.equal(state.dataset.state, 'open');
  assert.equal(state.textContent, 'Connecté — en direct');
  assert.equal(reloads, 1);
  bus.emit('ws:open', { reconnected: false });
  assert.equal(reloads, 1);
});

test('hub alerts become error toasts', (t) => {
  const { bus, toasts } = page(t);
  setupPage({ bus });
  bus.emit('ws:event', { type: 'alert', message: 'budget atteint' });
  bus.emit('ws:event', { type: 'alert' });
  bus.emit('ws:event', { type: 'metric' });
  assert.deepEqual(toasts, [{ text: 'Alerte : budget atteint', error: true }]);
});

test('with an API key, export links download through fetch with it', async (t) => {
  const link = new FakeElement('a', { href: '/api/export/csv?session=3' });
  const dom = installFakeDom([link], { 'GET /api/export/csv?session=3': new Response('id\n1\n') });
  t.after(dom.restore);
  const bus = createBus();
  setupPage({ bus });
  const prevented = [];
  const withoutKey = { preventDefault: () => prevented.push('sans clé') };
  await link.fire('click', withoutKey); // the plain link downloads by itself
  globalThis.sessionStorage = { getItem: () => 'secret' };
  t.after(() => { delete globalThis.sessionStorage; });
  await link.fire('click', { preventDefault: () => prevented.push('avec clé') });
  await new Promise((resolve) => { setTimeout(resolve, 10); });
  assert.deepEqual(prevented, ['avec clé']);
  assert.deepEqual(dom.calls, ['GET /api/export/csv?session=3']);
  assert.equal(dom.headers[0].Authorization, 'Bearer secret');
});
