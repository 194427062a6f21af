import assert from 'node:assert/strict';
import { test } from 'node:test';

import { fillDays, isoDay, presetRange, queryOf } from '../../static/js/modules/analytics.js';
import {
  contentText, facts, isSummary, maskRefs, rewrittenIndexes,
} from '../../static/js/modules/inspector.js';

test('presets end today and count today as one day', () => {
  const now = new Date(2026, 10, 26, 15, 0);
  assert.deepEqual(presetRange(1, now), { from: '2026-11-26', to: '2026-11-26' });
  assert.deepEqual(presetRange(7, now), { from: '2026-11-20', to: '2026-11-26' });
  assert.deepEqual(presetRange(0, now), { from: '', to: '' });
  assert.equal(isoDay(new Date(2026, 0, 5)), '2026-01-05');
});

test('the query leaves empty filters out and sends the time zone', () => {
  const query = queryOf({ from: '2026-11-01', model: ' ', q: 'injoignable', status: '' }, { before: null, limit: 50 }, 60);
  assert.equal(query, 'from=2026-11-01&q=injoignable&tz=60&limit=50');
});

test('missing days are drawn as zeros, capped at 366', () => {
  const days = fillDays([{ day: '2026-11-02', requests: 3 }], '2026-11-01', '2026-11-03');
  assert.deepEqual(days.map((d) => [d.day, d.requests]), [['2026-11-01', 0], ['2026-11-02', 3], ['2026-11-03', 0]]);
  assert.equal(fillDays([], '2020-01-01', '2026-01-01').length, 366);
  assert.deepEqual(fillDays([], '', ''), []);
});

test('inspector helpers: content text, mask references, compaction summary', () => {
  assert.equal(contentText([{ type: 'text', text: 'a' }, { type: 'image_url' }]), 'a\n[image_url]');
  assert.equal(contentText(null), '');
  const hash = 'ab'.repeat(16);
  assert.deepEqual(maskRefs(`voir mask:${hash} et mask:${hash}`), [hash]);
  assert.equal(isSummary({ content: '[Résumé de la conversation antérieure, rédigé par Kimi Proxy Hub]\n…' }), true);
  assert.equal(isSummary({ content: '[Summary of the earlier conversation, written by Kimi Proxy Hub]\n…' }), true);
  assert.equal(isSummary({ content: 'Bonjour' }), false);
});

test('inspector facts show timings, tokens and cost', () => {
  const rows = facts({
    session: { name: 'S' },
    request: {
      model_key: 'fake/echo', provider: 'fake', upstream_model: 'echo', session_id: 1, created_at: 0,
      status: 'error', http_status: 502, attempts: 3, ttfb_ms: 12, total_ms: 1500, prompt_tokens: 10,
      usage_source: 'upstream', prompt_estimate: 9, completion_tokens: 2, tokens_saved: 0, cost: 0.5, stream: false,
    },
  });
  const byLabel = Object.fromEntries(rows);
  assert.equal(byLabel.Statut, 'Erreur · HTTP 502 · 3 tentatives');
  assert.equal(byLabel['Premier octet'], '12 ms');
  assert.match(byLabel['Tokens prompt'], /réel \(estimation hub : 9\)/);
  assert.equal(byLabel.Session, 'S (n° 1)');
  assert.equal(byLabel['Clé virtuelle'], 'aucune (accès direct)');
});

test('rewritten messages are marked only when both sides have the same count', () => {
  const a = [{ role: 'user', content: 'x' }, { role: 'tool', content: 'long' }];
  const b = [{ role: 'user', content: 'x' }, { role: 'tool', content: 'masqué' }];
  assert.deepEqual([...rewrittenIndexes(a, b)], [1]);
  assert.deepEqual([...rewrittenIndexes(a, [b[0]])], []);
});
