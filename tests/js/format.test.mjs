import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  formatCost, formatDate, formatInt, formatMs, formatPercent, statusLabel, usageLabel,
} from '../../static/js/modules/format.js';

const NNBSP = '\u202f'; // fr-FR groups digits with a narrow no-break space
const NBSP = '\u00a0'; // ...and puts a plain no-break space before % and the currency

test('integers use the French group separator', () => {
  assert.equal(formatInt(1234), `1${NNBSP}234`);
  assert.equal(formatInt(1234567), `1${NNBSP}234${NNBSP}567`);
  assert.equal(formatInt(0), '0');
});

test('missing or hostile values render as a dash', () => {
  for (const value of [null, undefined, NaN, Infinity, '12', {}]) {
    assert.equal(formatInt(value), '—');
    assert.equal(formatCost(value), '—');
    assert.equal(formatDate(value), '—');
  }
});

test('percent and cost', () => {
  assert.equal(formatPercent(0.829), `82,9${NBSP}%`);
  assert.equal(formatCost(0.0018), `0,0018${NBSP}$US`);
  assert.equal(formatCost(1234.5), `1${NNBSP}234,50${NBSP}$US`);
  assert.equal(formatCost(0.000027), `0,000027${NBSP}$US`);
  assert.equal(formatCost(0), `0,00${NBSP}$US`);
});

test('dates are dd/mm/yyyy hh:mm in local time', () => {
  const epoch = new Date(2026, 10, 23, 14, 5).getTime() / 1000;
  assert.equal(formatDate(epoch), '23/11/2026 14:05');
});

test('durations', () => {
  assert.equal(formatMs(12.4), '12 ms');
  assert.equal(formatMs(1530), '1,53 s');
});

test('labels are French', () => {
  assert.equal(statusLabel('error'), 'Erreur');
  assert.equal(statusLabel('cancelled'), 'Annulée');
  assert.equal(usageLabel('upstream'), 'réel');
  assert.equal(usageLabel('estimated'), 'estimé');
});
