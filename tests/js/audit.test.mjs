import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  auditCells, auditQuery, callerLabel, decisionLabel, matchesFilters,
} from '../../static/js/modules/audit.js';

const ENTRY = {
  id: 12, created_at: 1_700_000_000, caller: 'key', key_id: 'abcdef012345', endpoint: '/mcp',
  via: null, server: 'everything', tool: 'get-env', decision: 'denied',
  reason: 'refusé par [mcp.servers.everything].tools', duration_ms: null, result_chars: null,
  is_error: true, flags: [],
};

test('auditQuery keeps the filled filters, a page size and the cursor', () => {
  assert.equal(auditQuery({ caller: '', tool: ' echo ', decision: 'refused' }), 'tool=echo&decision=refused&limit=50');
  assert.equal(auditQuery({ flagged: 'true' }, 40, 0), 'flagged=true&before=40');
  assert.equal(auditQuery(undefined, null, 0), '');
});

test('labels are French', () => {
  assert.equal(decisionLabel('denied'), 'refusé (règle)');
  assert.equal(decisionLabel('unavailable'), 'indisponible');
  assert.equal(callerLabel(ENTRY), 'clé abcdef012345');
  assert.equal(callerLabel({ caller: 'stdio' }), 'stdio');
});

test('auditCells describe one call', () => {
  const cells = auditCells(ENTRY);
  assert.equal(cells.length, 8);
  assert.equal(cells[3], 'everything · get-env');
  assert.match(cells[4], /^refusé \(règle\) — refusé par/);
  assert.equal(cells[5], '—');
  const own = auditCells({ ...ENTRY, server: null, tool: 'tokens_count', via: 'tool_call',
    endpoint: '/profiles/agent/mcp', decision: 'allowed', reason: null, duration_ms: 3.2,
    result_chars: 1234, flags: ['injection_result'] });
  assert.equal(own[2], '/profiles/agent/mcp (via tool_call)');
  assert.equal(own[3], 'hub · tokens_count');
  assert.equal(own[7], 'injection dans le résultat');
});

test('matchesFilters decides whether a live row is shown', () => {
  assert.ok(matchesFilters(ENTRY, {}));
  assert.ok(matchesFilters(ENTRY, { decision: 'refused', key: 'abcdef012345' }));
  assert.ok(!matchesFilters(ENTRY, { decision: 'allowed' }));
  assert.ok(!matchesFilters(ENTRY, { server: 'autre' }));
  assert.ok(!matchesFilters(ENTRY, { flagged: 'true' }));
  assert.ok(matchesFilters({ ...ENTRY, flags: ['injection_result'] }, { flagged: 'true' }));
});
