import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createBus } from '../../static/js/modules/bus.js';
import { inspectOnClick, renderLog } from '../../static/js/modules/log.js';
import { FakeElement, installFakeDom } from './support/fake_dom.mjs';

test('a click on a row number emits inspect with the id, elsewhere nothing', async (t) => {
  const dom = installFakeDom([]);
  t.after(dom.restore);
  const tbody = new FakeElement('tbody');
  renderLog(tbody, [{ id: 42, status: 'ok', model_key: 'fake/echo', created_at: 0 }]);
  const bus = createBus();
  const asked = [];
  bus.on('inspect', (payload) => asked.push(payload));
  inspectOnClick(tbody, bus);
  const number = tbody.querySelector('button[data-inspect]');
  await tbody.fire('click', { target: number });
  await tbody.fire('click', { target: tbody.find('fake/echo') });
  assert.deepEqual(asked, [{ id: 42 }]);
});
