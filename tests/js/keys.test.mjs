import assert from 'node:assert/strict';
import { test } from 'node:test';

import { keyBody, keySummary, patterns } from '../../static/js/modules/keys.js';

test('patterns split on commas and drop blanks', () => {
  assert.deepEqual(patterns(' fake/*, ,other/echo '), ['fake/*', 'other/echo']);
  assert.deepEqual(patterns(undefined), []);
});

test('keyBody keeps only what the form filled', () => {
  assert.deepEqual(keyBody({ name: ' Alice ', budget: '', rpm: '', tpm: '', models: '', tools: '' }),
    { name: 'Alice' });
  assert.deepEqual(
    keyBody({ name: 'B', budget: '2.5', period: 'month', rpm: '5', models: 'kimi/*', expires: '2030-01-31' }),
    { name: 'B', budget: 2.5, period: 'month', rpm: 5, models: ['kimi/*'], expires_at: '2030-01-31T23:59:59' },
  );
});

test('keySummary describes limits in French', () => {
  assert.equal(keySummary({ models: [], tools: [] }), 'sans limite');
  const text = keySummary({ budget: 1, budget_remaining: 0.25, period: 'day', rpm: 5, models: ['a/*'] });
  assert.match(text, /par jour/);
  assert.match(text, /5 req\/min/);
  assert.match(text, /modèles : a\/\*/);
});

test('a key can see no tool unless a pattern names it', () => {
  assert.deepEqual(keyBody({ name: 'C', tools: '', tools_default: 'deny' }),
    { name: 'C', tools_default: 'deny' });
  assert.deepEqual(keyBody({ name: 'C', tools_default: 'allow' }), { name: 'C' });
  assert.match(keySummary({ tools: [], tools_default: 'deny' }), /aucun outil MCP/);
  assert.doesNotMatch(keySummary({ tools: ['a'], tools_default: 'deny' }), /aucun outil/);
});
