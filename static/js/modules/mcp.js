// MCP servers panel, from GET /api/mcp/servers (hub/features/mcp_hub/status.py: `tools` is a count).
import { api } from './api.js';
import { formatInt, formatMs } from './format.js';

const STATE_LABELS = {
  ready: 'prêt', starting: 'démarrage', restarting: 'redémarrage', degraded: 'dégradé', down: 'hors service',
  disabled: 'désactivé',
};

function count(value) {
  return Number.isInteger(value) && value >= 0 ? value : 0;
}

export function normaliseServers(payload) {
  const list = Array.isArray(payload?.servers) ? payload.servers : [];
  return list.filter((s) => s && typeof s === 'object').map((s) => ({
    name: String(s.name ?? '?'),
    endpoint: typeof s.endpoint === 'string' ? s.endpoint : '',
    state: String(s.state ?? 'inconnu'),
    transport: typeof s.transport === 'string' ? s.transport : '',
    toolCount: count(s.tools),
    calls: count(s.calls),
    errors: count(s.errors),
    restarts: count(s.restarts),
    latencyAvg: Number.isFinite(s.latency_ms_avg) ? s.latency_ms_avg : null,
    lastError: typeof s.last_error === 'string' && s.last_error ? s.last_error : null,
    stderr: Array.isArray(s.stderr) ? s.stderr.filter((l) => typeof l === 'string').slice(-20) : [],
    warnings: Array.isArray(s.warnings) ? s.warnings.map(String) : [],
    auth: typeof s.auth === 'string' && s.auth ? s.auth : null,
    authorizationUrl: safeHttpUrl(s.authorization_url),
  }));
}

// Only http(s) links are drawn: an upstream's metadata chooses this URL.
export function safeHttpUrl(value) {
  if (typeof value !== 'string' || !value) return null;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}

const DISCOVERY_LABELS = { list: 'liste complète', search: 'recherche' };

export function normaliseProfiles(payload) {
  const list = Array.isArray(payload?.profiles) ? payload.profiles : [];
  return list.filter((p) => p && typeof p === 'object' && typeof p.endpoint === 'string').map((p) => ({
    name: String(p.name ?? '?'),
    endpoint: p.endpoint,
    discovery: DISCOVERY_LABELS[p.discovery] ?? String(p.discovery ?? ''),
    toolCount: count(p.tools),
    listed: Number.isInteger(p.listed) ? p.listed : null,
  }));
}

export function profileSummary(profile) {
  const tools = `${formatInt(profile.toolCount)} outil${profile.toolCount > 1 ? 's' : ''}`;
  const listed = profile.listed === null ? '' : ` (${formatInt(profile.listed)} listés)`;
  return `${profile.endpoint} — ${profile.name} : ${tools}${listed}, ${profile.discovery}`;
}

export function stateLabel(state) {
  return STATE_LABELS[state] ?? state;
}

function line(text, className = 'small') {
  const p = document.createElement('p');
  p.className = className;
  p.textContent = text;
  return p;
}

export function serverSummary(server) {
  const tools = `${formatInt(server.toolCount)} outil${server.toolCount > 1 ? 's' : ''}`;
  const parts = [tools, server.transport, `${formatInt(server.calls)} appel(s)`];
  if (server.errors) parts.push(`${formatInt(server.errors)} en erreur`);
  if (server.latencyAvg !== null) parts.push(`moy. ${formatMs(server.latencyAvg)}`);
  if (server.restarts) parts.push(`${formatInt(server.restarts)} redémarrage(s)`);
  return parts.filter(Boolean).join(' · ');
}

function stderrBlock(lines) {
  const details = document.createElement('details');
  const summary = document.createElement('summary');
  summary.className = 'small muted';
  summary.textContent = `Dernières lignes d’erreur du processus (${lines.length})`;
  const pre = document.createElement('pre');
  pre.className = 'small';
  pre.textContent = lines.join('\n');
  details.append(summary, pre);
  return details;
}

function serverCard(server) {
  const li = document.createElement('li');
  li.className = 'mcp-server';
  li.dataset.state = server.state;
  li.dataset.name = server.name;
  const head = document.createElement('div');
  head.className = 'row between';
  const title = document.createElement('strong');
  title.textContent = server.name;
  const state = document.createElement('span');
  state.className = 'badge state';
  state.textContent = stateLabel(server.state);
  head.append(title, state);
  li.append(head, line(serverSummary(server)));
  if (server.endpoint) li.append(line(`Seul : ${server.endpoint}`, 'small muted'));
  if (server.auth) li.append(line(`OAuth : ${server.auth}`, 'small'));
  if (server.authorizationUrl) {
    const connect = document.createElement('a');
    connect.className = 'button small';
    connect.href = server.authorizationUrl;
    connect.target = '_blank';
    connect.rel = 'noopener noreferrer';
    connect.dataset.connect = server.name;
    connect.textContent = 'Connecter';
    connect.setAttribute('aria-label', `Se connecter au serveur MCP ${server.name}`);
    li.append(connect);
  }
  if (server.lastError) li.append(line(`Dernière erreur : ${server.lastError}`, 'small error-text'));
  if (server.stderr.length) li.append(stderrBlock(server.stderr));
  for (const warning of server.warnings) li.append(line(`Avertissement : ${warning}`, 'small muted'));
  if (server.state !== 'disabled') {
    const restart = document.createElement('button');
    restart.type = 'button';
    restart.className = 'ghost small';
    restart.dataset.restart = server.name;
    restart.textContent = 'Redémarrer';
    restart.setAttribute('aria-label', `Redémarrer le serveur MCP ${server.name}`);
    li.append(restart);
  }
  return li;
}

function message(text, className = 'muted') {
  const p = document.createElement('p');
  p.className = className;
  p.textContent = text;
  return p;
}

export function createMcpPanel({ bus }) {
  const root = document.getElementById('mcp-panel');
  let latest = 0; // mcp_status events come in bursts: only the newest answer is drawn

  async function refresh() {
    const mine = ++latest;
    let servers;
    let profiles;
    try {
      const payload = await api.mcpServers();
      servers = normaliseServers(payload);
      profiles = normaliseProfiles(payload);
      if (mine !== latest) return;
    } catch (error) {
      if (mine !== latest) return;
      root.replaceChildren(error.status === 404
        ? message('Aucun serveur MCP configuré (ou hub sans module MCP).')
        : message(`Impossible de lire l’état des serveurs MCP : ${error.message}`, 'error-text'));
      return;
    }
    if (servers.length === 0) {
      root.replaceChildren(message('Aucun serveur MCP configuré'));
      return;
    }
    const ul = document.createElement('ul');
    ul.className = 'mcp-list';
    ul.append(...servers.map(serverCard));
    const endpoints = profiles.map((p) => line(profileSummary(p), 'small muted'));
    if (endpoints.length) endpoints.unshift(line('Points d’accès MCP :', 'small'));
    root.replaceChildren(ul, ...endpoints);
  }

  root.addEventListener('click', async (event) => {
    const target = event.target.closest('button[data-restart]');
    if (!target) return;
    target.disabled = true;
    try {
      await api.restartMcp(target.dataset.restart);
      bus.emit('toast', { text: `Redémarrage du serveur MCP « ${target.dataset.restart} » demandé.` });
    } catch (error) {
      bus.emit('toast', { text: `Redémarrage impossible : ${error.message}`, error: true });
    }
    await refresh();
  });
  document.getElementById('mcp-refresh').addEventListener('click', () => refresh());
  bus.on('dashboard:refresh', ({ wait }) => wait(refresh()));
  bus.on('ws:event', (event) => {
    if (event.type === 'mcp_status') refresh();
  });

  return { refresh };
}
