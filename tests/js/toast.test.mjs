import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createBus } from '../../static/js/modules/bus.js';
import { setupToast } from '../../static/js/modules/toast.js';
import { FakeElement, installFakeDom } from './support/fake_dom.mjs';

test('a toast event is shown for six seconds, an error one marked as such', (t) => {
  const el = new FakeElement('div', { id: 'toast', hidden: true });
  const dom = installFakeDom([el]);
  t.after(dom.restore);
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const bus = createBus();
  setupToast({ bus });

  bus.emit('toast', { text: 'Session renommée.' });
  assert.equal(el.textContent, 'Session renommée.');
  assert.equal(el.dataset.kind, 'info');
  assert.equal(el.hidden, false);

  t.mock.timers.tick(5000);
  bus.emit('toast', { text: 'Hub injoignable.', error: true });
  assert.equal(el.dataset.kind, 'error');
  t.mock.timers.tick(5999);
  assert.equal(el.hidden, false, 'a new message starts its own six seconds');
  t.mock.timers.tick(1);
  assert.equal(el.hidden, true);
});
