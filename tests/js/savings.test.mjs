import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createBus } from '../../static/js/modules/bus.js';
import {
  createSavingsPanel, describeSaving, mergeSavings, normaliseSaving,
} from '../../static/js/modules/savings.js';
import { FakeElement, installFakeDom, settle } from './support/fake_dom.mjs';

const live = {
  type: 'compaction', at: 200, session_id: 3, event_id: 9, tokens_before: 1000, tokens_after: 400,
  rounds: 20,
};
const stored = {
  id: 8, session_id: 3, created_at: 100, kind: 'masking', tokens_before: 900, tokens_after: 600,
  detail: { masked: [{ hash: 'a' }, { hash: 'b' }] },
};

test('live and stored events get one shape, saved tokens computed', () => {
  assert.deepEqual(
    [normaliseSaving(live).tokens_saved, normaliseSaving(live).id, normaliseSaving(live).type],
    [600, 9, 'compaction'],
  );
  const past = normaliseSaving(stored);
  assert.deepEqual([past.tokens_saved, past.id, past.type, past.at, past.masked], [300, 8, 'masking', 100, 2]);
  assert.match(describeSaving(past), /Masquage \(2 contenu\(s\)\) : 300 tokens économisés/);
  assert.match(describeSaving(normaliseSaving(live)), /Compaction \(20 tour\(s\) résumé\(s\)\) : 600/);
});

test('merge keeps the newest first, once per id', () => {
  const a = normaliseSaving(live);
  const b = normaliseSaving(stored);
  assert.deepEqual(mergeSavings([b, a, a]).map((e) => e.id), [9, 8]);
  const many = Array.from({ length: 50 }, (_, i) => ({ id: i, at: i }));
  assert.equal(mergeSavings(many).length, 30);
  assert.equal(mergeSavings(many)[0].id, 49);
});

test('the panel follows the viewed session from bus events alone', async (t) => {
  const els = ['saved-total', 'compaction-toggle', 'compaction-preview', 'compaction-apply',
    'compaction-result', 'savings-events'].map((id) => new FakeElement('div', { id }));
  const [total, toggle, , apply, result, list] = els;
  const dom = installFakeDom(els, { 'GET /api/savings?session=3': { events: [stored] } });
  t.after(dom.restore);
  const bus = createBus();
  createSavingsPanel({ bus });

  result.textContent = 'Aperçu — …';
  apply.disabled = false;
  bus.emit('session:shown', { id: 3 });
  assert.equal(result.textContent, '');
  assert.equal(apply.disabled, true);
  await settle();
  assert.match(list.textContent, /Masquage \(2 contenu\(s\)\)/);

  bus.emit('ws:event', live);
  bus.emit('ws:event', { ...live, session_id: 4, event_id: 10 }); // another session: not listed
  assert.equal(list.children.length, 2);

  bus.emit('session:summary', { session: { id: 3, compaction: true }, totals: { tokens_saved: 900 } });
  assert.equal(toggle.checked, true);
  assert.equal(total.textContent, '900');
});
