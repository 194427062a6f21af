// MCP servers panel, from GET /api/mcp/servers (shape read defensively: the route is new).
import { api } from './api.js';

const STATE_LABELS = {
  running: 'en marche', ready: 'prêt', connected: 'connecté', starting: 'démarrage',
  stopped: 'arrêté', failed: 'en échec', error: 'en erreur', restarting: 'redémarrage',
  disconnected: 'déconnecté',
};

export function normaliseServers(payload) {
  const raw = Array.isArray(payload) ? payload : payload?.servers ?? [];
  const list = Array.isArray(raw) ? raw : Object.entries(raw).map(([name, s]) => ({ name, ...s }));
  return list.map((s) => {
    const tools = Array.isArray(s.tools) ? s.tools.map((t) => (typeof t === 'string' ? t : t?.name)).filter(Boolean) : [];
    return {
      name: String(s.name ?? '?'),
      state: String(s.state ?? s.status ?? 'inconnu'),
      tools,
      toolCount: Number.isFinite(s.tool_count) ? s.tool_count : tools.length,
      lastError: s.last_error ?? s.error ?? null,
    };
  });
}

export function stateLabel(state) {
  return STATE_LABELS[state] ?? state;
}

function serverCard(server) {
  const li = document.createElement('li');
  li.className = 'mcp-server';
  li.dataset.state = server.state;
  const head = document.createElement('div');
  head.className = 'row between';
  const title = document.createElement('strong');
  title.textContent = server.name;
  const state = document.createElement('span');
  state.className = 'badge state';
  state.textContent = stateLabel(server.state);
  head.append(title, state);
  const tools = document.createElement('p');
  tools.className = 'small';
  tools.textContent = server.toolCount
    ? `${server.toolCount} outil(s) : ${server.tools.join(', ')}`
    : 'Aucun outil exposé.';
  const restart = document.createElement('button');
  restart.type = 'button';
  restart.className = 'ghost small';
  restart.dataset.restart = server.name;
  restart.textContent = 'Redémarrer';
  restart.setAttribute('aria-label', `Redémarrer le serveur MCP ${server.name}`);
  li.append(head, tools);
  if (server.lastError) {
    const error = document.createElement('p');
    error.className = 'small error-text';
    error.textContent = `Dernière erreur : ${server.lastError}`;
    li.append(error);
  }
  li.append(restart);
  return li;
}

function message(text, className = 'muted') {
  const p = document.createElement('p');
  p.className = className;
  p.textContent = text;
  return p;
}

export function createMcpPanel({ root, bus }) {
  async function refresh() {
    let servers;
    try {
      servers = normaliseServers(await api.mcpServers());
    } catch (error) {
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
    root.replaceChildren(ul);
  }

  root.addEventListener('click', async (event) => {
    const target = event.target.closest('button[data-restart]');
    if (!target) return;
    target.disabled = true;
    try {
      await api.restartMcp(target.dataset.restart);
      bus.emit('toast', { text: `Serveur MCP « ${target.dataset.restart} » redémarré.` });
    } catch (error) {
      bus.emit('toast', { text: `Redémarrage impossible : ${error.message}`, error: true });
    }
    await refresh();
  });

  return { refresh };
}
