import assert from 'node:assert/strict';
import { test } from 'node:test';

import { gaugeColour, gaugeWidth } from '../../static/js/modules/gauge.js';

const T = [0.8, 0.9, 0.95];

test('vert below the first threshold, jaune from it, rouge from the second', () => {
  assert.equal(gaugeColour(0, T), 'vert');
  assert.equal(gaugeColour(0.799, T), 'vert');
  assert.equal(gaugeColour(0.8, T), 'jaune');
  assert.equal(gaugeColour(0.899, T), 'jaune');
  assert.equal(gaugeColour(0.9, T), 'rouge');
  assert.equal(gaugeColour(1.5, T), 'rouge');
});

test('thresholds in any order, a single threshold goes straight to rouge', () => {
  assert.equal(gaugeColour(0.85, [0.95, 0.8, 0.9]), 'jaune');
  assert.equal(gaugeColour(0.5, [0.5]), 'rouge');
  assert.equal(gaugeColour(0.4, [0.5]), 'vert');
});

test('unknown ratio or no thresholds stays vert', () => {
  assert.equal(gaugeColour(null, T), 'vert');
  assert.equal(gaugeColour(NaN, T), 'vert');
  assert.equal(gaugeColour(0.99, []), 'vert');
  assert.equal(gaugeColour(0.99, undefined), 'vert');
});

test('width is clamped to 0..100', () => {
  assert.equal(gaugeWidth(-1), 0);
  assert.equal(gaugeWidth(0.5), 50);
  assert.equal(gaugeWidth(3), 100);
  assert.equal(gaugeWidth(null), 0);
});
