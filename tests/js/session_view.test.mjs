import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createBus } from '../../static/js/modules/bus.js';
import { createSessionViewPanel } from '../../static/js/modules/session_view.js';
import { FakeElement, installFakeDom, settle } from './support/fake_dom.mjs';

const SESSIONS = [
  { id: 3, name: 'Refonte', active: false },
  { id: 4, name: 'Courante', active: true, model_key: 'fake/echo' },
];
const row = (id, session = 4) => ({ id, session_id: session, status: 'ok', created_at: 0 });
const metrics = (id, requests) => ({
  session: SESSIONS.find((s) => s.id === id), totals: { requests: requests.length, cost: 0 },
  gauge: null, requests,
});

// The session card, chart, log and export links of index.html; the bus records what
// the panel tells the others.
function page(t) {
  const ids = ['token-chart', 'gauge', 'gauge-fill', 'gauge-text', 'gauge-detail', 'gauge-meter',
    'log-body', 'log-caption', 'log-older', 'session-title', 'export-csv', 'export-json'];
  const els = Object.fromEntries(ids.map((id) => [id, new FakeElement('div', { id })]));
  const totals = new FakeElement('dl', { id: 'totals' });
  totals.append(...['requests', 'cost'].map((field) => new FakeElement('dd', { dataset: { field } })));
  const dom = installFakeDom([...Object.values(els), totals], {
    'GET /api/sessions': { sessions: SESSIONS },
    'GET /api/sessions/4/metrics?limit=100': metrics(4, [row(2), row(1)]),
    'GET /api/sessions/3/metrics?limit=100': metrics(3, []),
    'GET /api/sessions/4/metrics?limit=1': metrics(4, [row(5)]),
  });
  t.after(dom.restore);
  const bus = createBus();
  const told = [];
  for (const type of ['sessions:list', 'session:shown', 'session:summary', 'stats:refresh', 'toast']) {
    bus.on(type, (payload) => told.push([type, payload]));
  }
  const { view } = createSessionViewPanel({ bus });
  return { els, totals, dom, bus, told, view };
}

test('the reload shows the active session and tells the other panels', async (t) => {
  const { els, totals, bus, told, view } = page(t);
  await bus.gather('dashboard:refresh');
  await settle();
  assert.deepEqual(told.map(([type]) => type), ['sessions:list', 'session:shown', 'session:summary']);
  assert.equal(told[0][1].viewedId, 4);
  assert.deepEqual(told[1][1], { id: 4 });
  assert.equal(told[2][1].session.name, 'Courante');
  assert.equal(els['session-title'].textContent, 'Courante (n° 4) — session active · fake/echo');
  assert.equal(els['export-csv'].href, '/api/export/csv?session=4');
  assert.equal(totals.querySelector('dd').textContent, '2');
  assert.deepEqual(view.rows.map((r) => r.id), [2, 1]);
  assert.equal(els['log-body'].all('tr').length, 2);
});

test('a picked session stays viewed; a session event refreshes the list, then the stats', async (t) => {
  const { bus, told, view, dom } = page(t);
  await bus.gather('dashboard:refresh');
  bus.emit('session:view', { id: 3 });
  await settle();
  assert.equal(view.viewedId, 3);
  assert.equal(view.follow, false);
  told.length = 0;
  bus.emit('ws:event', { type: 'metric', request: row(6, 4) }); // another, known session
  bus.emit('ws:event', { type: 'session' });
  await settle();
  assert.deepEqual(told.map(([type]) => type), ['sessions:list', 'stats:refresh']);
  assert.equal(told[0][1].viewedId, 3);
  assert.equal(dom.calls.filter((c) => c.includes('/metrics')).length, 2); // no refetch for 4
});

test('a request of the viewed session joins the log and refetches the totals', async (t) => {
  const { bus, told, view, dom } = page(t);
  await bus.gather('dashboard:refresh');
  told.length = 0;
  bus.emit('ws:event', { type: 'metric', request: row(5) });
  await settle();
  assert.deepEqual(view.rows.map((r) => r.id), [5, 2, 1]);
  assert.equal(dom.calls.at(-1), 'GET /api/sessions/4/metrics?limit=1');
  assert.deepEqual(told.map(([type]) => type), ['session:summary']);
});
