import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createBus } from '../../static/js/modules/bus.js';
import { createKeysPanel } from '../../static/js/modules/keys.js';
import {
  FakeDialog, FakeElement, installFakeDom, json, settle,
} from './support/fake_dom.mjs';

const ALICE = { id: 'k1', name: 'Alice', models: [], tools: [] };

// The keys card of index.html and the shared #confirm-dialog; toasts caught off the bus.
function page(t, routes) {
  const root = new FakeElement('section', { id: 'keys-panel' });
  const secret = new FakeElement('div', { id: 'key-secret', hidden: true });
  secret.append(new FakeElement('code'));
  root.append(new FakeElement('ul', { id: 'key-list' }), new FakeElement('form', { id: 'key-create' }), secret);
  const dialog = new FakeDialog({ id: 'confirm-dialog' });
  dialog.append(new FakeElement('p', { id: 'confirm-text' }), new FakeElement('button', { id: 'confirm-ok' }));
  const dom = installFakeDom([root, dialog], { 'GET /api/keys': { keys: [ALICE] }, ...routes });
  t.after(dom.restore);
  const bus = createBus();
  const toasts = [];
  bus.on('toast', (message) => toasts.push(message));
  return { root, dialog, dom, bus, toasts };
}

test('revoking a key asks first, then says so with a toast event on the bus', async (t) => {
  const { root, dialog, dom, bus, toasts } = page(t, { 'DELETE /api/keys/k1': null });
  createKeysPanel({ bus });
  await settle();
  await root.find('Révoquer').fire('click');
  assert.match(dialog.querySelector('#confirm-text').textContent, /Révoquer la clé « Alice »/);
  assert.equal(dialog.querySelector('#confirm-ok').textContent, 'Révoquer');
  assert.deepEqual(toasts, [{ text: 'Clé « Alice » révoquée.' }]);
  assert.deepEqual(dom.calls, ['GET /api/keys', 'DELETE /api/keys/k1', 'GET /api/keys']);
});

test('a cancelled revocation sends nothing and says nothing', async (t) => {
  const { root, dialog, dom, bus, toasts } = page(t, {});
  createKeysPanel({ bus });
  await settle();
  dialog.answer = 'cancel';
  await root.find('Révoquer').fire('click');
  assert.deepEqual(toasts, []);
  assert.deepEqual(dom.calls, ['GET /api/keys']);
});

test('a refused creation becomes an error toast event', async (t) => {
  const refused = () => json({ error: { message: 'Ce nom est déjà pris.' } }, 409);
  const { root, dialog, bus, toasts } = page(t, { 'POST /api/keys': refused });
  createKeysPanel({ bus });
  const form = root.querySelector('#key-create');
  form.values = { name: 'Alice' };
  await form.fire('submit');
  assert.deepEqual(toasts, [{ text: 'Ce nom est déjà pris.', error: true }]);
  assert.equal(root.querySelector('#key-secret').hidden, true);
});
