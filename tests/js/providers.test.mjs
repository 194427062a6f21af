import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createBus } from '../../static/js/modules/bus.js';
import { createProvidersPanel } from '../../static/js/modules/providers.js';
import { FakeElement, installFakeDom } from './support/fake_dom.mjs';

test('the reload lists missing keys and waits for what « providers:known » starts', async (t) => {
  const box = new FakeElement('div', { id: 'provider-warnings', hidden: true });
  const list = new FakeElement('ul', { id: 'provider-warning-list' });
  const dom = installFakeDom([box, list], {
    'GET /health': { providers: { kimi: {}, fake: {} }, warnings: ['kimi : clé manquante (KIMI_API_KEY)'] },
    'GET /models': { data: [{ id: 'kimi/k2' }, { id: 'fake/echo' }] },
  });
  t.after(dom.restore);
  const bus = createBus();
  createProvidersPanel({ bus });
  const seen = [];
  bus.on('providers:known', ({ models, providers, wait }) => {
    wait(new Promise((resolve) => { setTimeout(() => { seen.push({ models, providers }); resolve(); }, 5); }));
  });

  await bus.gather('dashboard:refresh');
  assert.deepEqual(seen, [{ models: ['kimi/k2', 'fake/echo'], providers: ['kimi', 'fake'] }]);
  assert.equal(box.hidden, false);
  assert.equal(list.textContent, 'kimi : clé manquante (KIMI_API_KEY)');
});

test('no warning, no notice; a failure fails the reload', async (t) => {
  const box = new FakeElement('div', { id: 'provider-warnings', hidden: false });
  const list = new FakeElement('ul', { id: 'provider-warning-list' });
  const routes = { 'GET /health': { providers: {} }, 'GET /models': { data: [] } };
  const dom = installFakeDom([box, list], routes);
  t.after(dom.restore);
  const bus = createBus();
  createProvidersPanel({ bus });
  await bus.gather('dashboard:refresh');
  assert.equal(box.hidden, true);
  delete routes['GET /models'];
  await assert.rejects(bus.gather('dashboard:refresh'), /Route inconnue/);
});
