import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createBus } from '../../static/js/modules/bus.js';
import { createSessionsPanel } from '../../static/js/modules/sessions.js';
import {
  FakeDialog, FakeElement, installFakeDom, json,
} from './support/fake_dom.mjs';

const SESSIONS = [
  { id: 3, name: 'Refonte', active: false, created_at: 0 },
  { id: 4, name: 'Courante', active: true, created_at: 0 },
];

// The sessions card of index.html and the shared #confirm-dialog; the bus records
// what the panel emits.
function page(t, routes = {}) {
  const list = new FakeElement('ul', { id: 'session-list' });
  const input = new FakeElement('input', { value: '' });
  const form = new FakeElement('form', { id: 'session-create', elements: { name: input } });
  const dialog = new FakeDialog({ id: 'confirm-dialog' });
  dialog.append(new FakeElement('p', { id: 'confirm-text' }), new FakeElement('button', { id: 'confirm-ok' }));
  const dom = installFakeDom([list, form, dialog], routes);
  t.after(dom.restore);
  const bus = createBus();
  const emitted = [];
  for (const type of ['toast', 'session:view', 'sessions:refresh']) {
    bus.on(type, (payload) => emitted.push([type, payload]));
  }
  createSessionsPanel({ bus });
  bus.emit('sessions:list', { sessions: SESSIONS, viewedId: 3 });
  return { list, input, form, dialog, dom, bus, emitted };
}

const click = (list, button) => list.fire('click', { target: button });
const buttonOf = (list, id, action) => list.all('li[data-session-id]')
  .find((li) => li.dataset.sessionId === String(id)).all('button[data-action]')
  .find((b) => b.dataset.action === action);

test('the list it is sent on the bus is drawn active first, the viewed one selected', (t) => {
  const { list } = page(t);
  const items = list.all('li[data-session-id]');
  assert.deepEqual(items.map((li) => li.dataset.sessionId), ['4', '3']);
  assert.deepEqual(items.map((li) => li.className), ['', 'selected']);
});

test('picking a session asks for it on the bus', async (t) => {
  const { list, emitted } = page(t);
  await click(list, buttonOf(list, 4, 'view'));
  assert.deepEqual(emitted, [['session:view', { id: 4 }]]);
});

test('a confirmed deletion is reported with a toast event', async (t) => {
  const { list, dialog, dom, emitted } = page(t, { 'DELETE /api/sessions/3': null });
  await click(list, buttonOf(list, 3, 'delete'));
  assert.match(dialog.querySelector('#confirm-text').textContent, /Supprimer la session « Refonte »/);
  assert.deepEqual(dom.calls, ['DELETE /api/sessions/3']);
  assert.deepEqual(emitted, [['toast', { text: 'Session « Refonte » supprimée.' }]]);
});

test('a failed activation is an error toast event', async (t) => {
  const busy = () => json({ error: { message: 'Session introuvable.' } }, 404);
  const { list, emitted } = page(t, { 'POST /api/sessions/3/activate': busy });
  await click(list, buttonOf(list, 3, 'activate'));
  assert.deepEqual(emitted, [['toast', { text: 'Session introuvable.', error: true }]]);
});

test('creating a session toasts, then asks to view and follow it', async (t) => {
  const { input, form, emitted } = page(t, { 'POST /api/sessions': { id: 9, name: 'Nouvelle' } });
  input.value = ' Nouvelle ';
  await form.fire('submit');
  assert.equal(input.value, '');
  assert.deepEqual(emitted, [
    ['toast', { text: 'Session « Nouvelle » créée et activée.' }],
    ['session:view', { id: 9, follow: true }],
  ]);
});
