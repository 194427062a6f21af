import assert from 'node:assert/strict';
import { test } from 'node:test';

import { sortSessions } from '../../static/js/modules/sessions.js';

test('the active session comes first, then the newest', () => {
  const sessions = [
    { id: 1, active: false }, { id: 3, active: false }, { id: 2, active: true }, { id: 4, active: false },
  ];
  assert.deepEqual(sortSessions(sessions).map((s) => s.id), [2, 4, 3, 1]);
  assert.deepEqual(sessions.map((s) => s.id), [1, 3, 2, 4]); // not sorted in place
});
