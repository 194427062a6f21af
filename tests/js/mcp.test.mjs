import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  normaliseProfiles, normaliseServers, profileSummary, serverSummary, stateLabel,
} from '../../static/js/modules/mcp.js';

// Shape of GET /api/mcp/servers (hub/features/mcp_hub/status.py ServerStatus.to_json).
const READY = {
  name: 'dyn', transport: 'stdio', state: 'ready', tools: 3, last_error: null, restarts: 0,
  calls: 2, errors: 1, latency_ms_avg: 12.5, latency_ms_last: 3.1, warnings: ['outil « x » rejeté'],
};

test('the REST shape is read field by field: tools is a count', () => {
  const [server] = normaliseServers({ servers: [READY] });
  assert.equal(server.toolCount, 3);
  assert.equal(server.transport, 'stdio');
  assert.deepEqual(server.warnings, ['outil « x » rejeté']);
  assert.equal(serverSummary(server), '3 outils · stdio · 2 appel(s) · 1 en erreur · moy. 13 ms');
});

test('an OAuth upstream says where its sign-in stands; others say nothing', () => {
  const [signed, plain, odd] = normaliseServers({ servers: [
    { ...READY, auth: 'connecté en tant que hub-client' }, READY, { ...READY, auth: 42 },
  ] });
  assert.equal(signed.auth, 'connecté en tant que hub-client');
  assert.equal(plain.auth, null);
  assert.equal(odd.auth, null);
});

test('a pending sign-in gives an http(s) link only; other schemes are dropped', () => {
  const url = 'https://auth.example.com/authorize?state=abc&client_id=x';
  const [pending, script, junk, none] = normaliseServers({ servers: [
    { ...READY, auth: 'connexion requise', authorization_url: url },
    { ...READY, authorization_url: 'javascript:alert(1)' },
    { ...READY, authorization_url: 'pas une url' },
    READY,
  ] });
  assert.equal(pending.authorizationUrl, url);
  assert.equal(script.authorizationUrl, null);
  assert.equal(junk.authorizationUrl, null);
  assert.equal(none.authorizationUrl, null);
});

test('every server state has a French label', () => {
  for (const [state, label] of [['ready', 'prêt'], ['starting', 'démarrage'], ['degraded', 'dégradé'],
    ['down', 'hors service'], ['disabled', 'désactivé']]) {
    assert.equal(stateLabel(state), label);
  }
});

test('malformed or hostile payloads do not throw', () => {
  for (const payload of [null, undefined, 42, 'x', [], {}, { servers: 'x' }, { servers: [null, 7] }]) {
    assert.deepEqual(normaliseServers(payload), []);
  }
  const [odd] = normaliseServers({ servers: [{ name: '<b>', tools: -4, calls: 'x', warnings: 'w' }] });
  assert.equal(odd.name, '<b>');
  assert.equal(odd.toolCount, 0);
  assert.equal(odd.calls, 0);
  assert.deepEqual(odd.warnings, []);
  assert.equal(serverSummary(odd), '0 outil · 0 appel(s)');
});

test('profiles: endpoint, tool count, listed tools in search mode; junk dropped', () => {
  const payload = { profiles: [
    { name: 'default', endpoint: '/mcp', discovery: 'list', tools: 32, listed: null },
    { name: 'agent', endpoint: '/profiles/agent/mcp', discovery: 'search', tools: 32, listed: 5 },
    { name: 'x' }, null, 3,
  ] };
  const profiles = normaliseProfiles(payload);
  assert.equal(profiles.length, 2);
  assert.equal(profileSummary(profiles[0]), '/mcp — default : 32 outils, liste complète');
  assert.equal(profileSummary(profiles[1]), '/profiles/agent/mcp — agent : 32 outils (5 listés), recherche');
  for (const junk of [null, {}, { profiles: 'x' }]) assert.deepEqual(normaliseProfiles(junk), []);
  const [server] = normaliseServers({ servers: [{ ...READY, endpoint: '/servers/dyn/mcp',
    stderr: ['a', 3, null, 'b'] }] });
  assert.equal(server.endpoint, '/servers/dyn/mcp');
  assert.deepEqual(server.stderr, ['a', 'b']);
});
