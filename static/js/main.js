// Entry point: builds the panels, wires them through the bus, keeps the page in step with /ws.
import { createAnalyticsPanel } from './modules/analytics.js';
import { api, apiToken, downloadWithToken, setApiToken } from './modules/api.js';
import { createAuditPanel } from './modules/audit.js';
import { createBus } from './modules/bus.js';
import { createTokenChart } from './modules/chart.js';
import { formatCost, formatInt } from './modules/format.js';
import { renderGauge } from './modules/gauge.js';
import { createInspector } from './modules/inspector.js';
import { renderLog } from './modules/log.js';
import { createKeysPanel } from './modules/keys.js';
import { createMcpPanel } from './modules/mcp.js';
import { createSavingsPanel } from './modules/savings.js';
import { createSessionsPanel } from './modules/sessions.js';
import { connectSocket } from './modules/socket.js';
import {
  chartSeries, coalesce, frameThrottle, LOG_CAP, mergeRequests, oldestId,
} from './modules/window.js';

const $ = (id) => document.getElementById(id);
const PAGE = 100;

function main() {
  const bus = createBus();
  const view = {
    sessions: [], viewedId: null, follow: true, session: null, totals: null,
    rows: [], hasOlder: false,
  };
  const chart = createTokenChart($('token-chart'));
  const gaugeEls = {
    root: $('gauge'), fill: $('gauge-fill'), text: $('gauge-text'),
    detail: $('gauge-detail'), meter: $('gauge-meter'),
  };
  const sessionsPanel = createSessionsPanel({
    list: $('session-list'), form: $('session-create'), dialog: $('confirm-dialog'), bus,
  });
  const mcpPanel = createMcpPanel({ root: $('mcp-panel'), bus });
  createKeysPanel({ root: $('keys-panel'), dialog: $('confirm-dialog'), toast });
  const auditPanel = createAuditPanel({ bus });
  const savings = createSavingsPanel({
    els: {
      total: $('saved-total'), toggle: $('compaction-toggle'), preview: $('compaction-preview'),
      apply: $('compaction-apply'), result: $('compaction-result'), list: $('savings-events'),
    },
    bus,
    viewedId: () => view.viewedId,
  });

  const known = { models: [], providers: [] };
  const analytics = createAnalyticsPanel({
    els: {
      root: $('analytics'), form: $('analytics-filters'), summary: $('analytics-summary'),
      tokensChart: $('daily-tokens-chart'), requestsChart: $('daily-requests-chart'),
      byModel: $('analytics-by-model'), byProvider: $('analytics-by-provider'),
      latency: $('analytics-latency'), results: $('search-results'), pageInfo: $('search-info'),
      newer: $('search-newer'), older: $('search-older'),
      knownModels: () => known.models, knownProviders: () => known.providers,
    },
    bus,
  });
  createInspector({ dialog: $('inspector'), bus });
  // New rows move the figures: refresh the analytics at most every few seconds.
  let analyticsTimer = null;
  function analyticsSoon() {
    if (analyticsTimer) return;
    analyticsTimer = setTimeout(() => { analyticsTimer = null; analytics.refresh({ resetPage: false }); }, 3000);
  }

  const drawRows = frameThrottle(() => {
    renderLog($('log-body'), view.rows);
    chart.update(chartSeries(view.rows));
    const full = view.rows.length >= LOG_CAP;
    $('log-caption').textContent = `${formatInt(view.rows.length)} requête(s) affichée(s)`
      + (full ? ` · fenêtre limitée à ${formatInt(LOG_CAP)} (export pour tout voir)` : '');
    $('log-older').hidden = !view.hasOlder || full;
  });

  function renderTotals(totals) {
    for (const dd of $('totals').querySelectorAll('dd[data-field]')) {
      const value = totals?.[dd.dataset.field];
      dd.textContent = dd.dataset.field === 'cost' ? formatCost(value) : formatInt(value);
    }
  }

  function renderHeader() {
    const s = view.session;
    $('session-title').textContent = s
      ? `${s.name} (n° ${s.id})${s.active ? ' — session active' : ''}${s.model_key ? ` · ${s.model_key}` : ''}`
      : 'Aucune session : la première requête en créera une.';
    for (const [id, kind] of [['export-csv', 'csv'], ['export-json', 'json']]) {
      $(id).href = s ? `/api/export/${kind}?session=${s.id}` : `/api/export/${kind}`;
    }
  }

  // Header, totals, gauge and savings of the viewed session, from one metrics answer.
  function showSummary(data) {
    view.session = data.session;
    view.totals = data.totals;
    renderHeader();
    renderTotals(data.totals);
    renderGauge(gaugeEls, data.gauge);
    savings.setSession(data.session, data.totals);
  }

  // Totals and gauge of the viewed session (the log keeps its own window).
  const refreshMetrics = coalesce(async () => {
    if (!view.viewedId) return;
    showSummary(await api.metrics(view.viewedId, { limit: 1 }));
  });

  const refreshGlobal = coalesce(async () => {
    const stats = await api.stats();
    const t = stats.totals;
    $('global-totals').textContent = `Toutes sessions : ${formatInt(stats.sessions)} session(s), `
      + `${formatInt(t.requests)} requête(s), ${formatInt(t.total_tokens)} tokens, ${formatCost(t.cost)}.`;
  });

  async function loadSession(id) {
    view.viewedId = id;
    view.rows = [];
    view.hasOlder = false;
    savings.resetPreview();
    savings.load(id).catch((e) => toast(`Événements d’économies : ${e.message}`, true));
    if (!id) {
      view.session = null;
      renderHeader();
      renderTotals(null);
      renderGauge(gaugeEls, null);
      drawRows();
      return;
    }
    const data = await api.metrics(id, { limit: PAGE });
    if (view.viewedId !== id) return; // another session was picked meanwhile
    // Keep rows that arrived over /ws while the page was in flight.
    view.rows = mergeRequests(view.rows, data.requests).rows;
    view.hasOlder = data.requests.length === PAGE;
    drawRows();
    showSummary(data);
  }

  async function refreshSessions(force = false) {
    view.sessions = (await api.sessions()).sessions;
    const active = view.sessions.find((s) => s.active);
    const stillThere = view.sessions.some((s) => s.id === view.viewedId);
    let target = view.viewedId;
    if (view.follow || !stillThere) {
      target = active?.id ?? view.sessions[0]?.id ?? null;
      if (!stillThere) view.follow = true;
    }
    sessionsPanel.set(view.sessions, target);
    if (force || target !== view.viewedId) await loadSession(target);
  }

  // « clé manquante »: providers whose key variable is unset (GET /health).
  async function refreshProviders() {
    const [health, models] = await Promise.all([api.health(), api.models()]);
    known.providers = Object.keys(health?.providers ?? {});
    known.models = (models?.data ?? []).map((m) => String(m.id));
    const warnings = Array.isArray(health?.warnings) ? health.warnings : [];
    $('provider-warning-list').replaceChildren(...warnings.map((text) => {
      const li = document.createElement('li');
      li.textContent = String(text);
      return li;
    }));
    $('provider-warnings').hidden = warnings.length === 0;
  }

  async function refreshAll() {
    document.body.classList.add('loading');
    try {
      await Promise.all([
        refreshSessions(true), // full reload of the viewed session's window
        refreshGlobal(), mcpPanel.refresh(), refreshProviders().then(() => analytics.refresh()),
        auditPanel.refresh(),
      ]);
      document.body.classList.remove('stale');
    } catch (error) {
      toast(`Chargement impossible : ${error.message}`, true);
      if (error.status === 401) askToken();
    } finally {
      document.body.classList.remove('loading');
    }
  }

  let toastTimer = null;
  function toast(text, error = false) {
    const el = $('toast');
    el.textContent = text;
    el.dataset.kind = error ? 'error' : 'info';
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { el.hidden = true; }, 6000);
  }

  function askToken() {
    const token = window.prompt('Ce hub demande une clé API (KIMI_PROXY_API_KEY) :');
    if (token) {
      setApiToken(token.trim());
      window.location.reload();
    }
  }

  function onEvent(event) {
    switch (event.type) {
      case 'metric': {
        const row = event.request;
        if (row?.session_id === view.viewedId) {
          view.rows = mergeRequests(view.rows, [row]).rows;
          if (view.rows.length >= LOG_CAP) view.hasOlder = true;
          drawRows();
          refreshMetrics().catch((e) => toast(e.message, true));
        } else if (row && view.follow && !view.sessions.some((s) => s.id === row.session_id)) {
          refreshSessions().catch((e) => toast(e.message, true)); // auto-session opened one
        }
        refreshGlobal().catch((e) => toast(e.message, true));
        analyticsSoon();
        break;
      }
      case 'session':
        refreshSessions().then(refreshGlobal).catch((e) => toast(e.message, true));
        break;
      case 'alert':
        if (event.message) toast(`Alerte : ${event.message}`, true);
        break;
      case 'mcp_status':
        mcpPanel.refresh();
        break;
      case 'masking':
      case 'compaction':
        savings.addEvent(event);
        if (event.session_id === view.viewedId) refreshMetrics().catch((e) => toast(e.message, true));
        break;
      default:
        break; // 'hello' and events this page does not show
    }
  }

  bus.on('toast', ({ text, error }) => toast(text, error));
  bus.on('sessions:refresh', () => refreshSessions().catch((e) => toast(e.message, true)));
  bus.on('metrics:refresh', () => refreshMetrics().catch((e) => toast(e.message, true)));
  bus.on('session:view', ({ id, follow }) => {
    const active = view.sessions.find((s) => s.active);
    view.follow = Boolean(follow) || active?.id === id;
    sessionsPanel.set(view.sessions, id);
    loadSession(id).catch((e) => toast(e.message, true));
    if (follow) refreshSessions().catch((e) => toast(e.message, true));
  });
  bus.on('ws:event', onEvent);
  bus.on('ws:open', ({ reconnected }) => {
    $('banner').hidden = true;
    $('conn-state').dataset.state = 'open';
    $('conn-state').textContent = 'Connecté — en direct';
    if (reconnected) refreshAll(); // events were missed while away: never show stale data
  });
  bus.on('ws:lost', () => {
    $('banner').hidden = false;
    $('conn-state').dataset.state = 'lost';
    $('conn-state').textContent = 'Déconnecté';
    document.body.classList.add('stale');
  });

  $('mcp-refresh').addEventListener('click', () => mcpPanel.refresh());
  for (const table of [$('log-body'), $('search-results')]) {
    table.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-inspect]');
      if (button) bus.emit('inspect', { id: Number(button.dataset.inspect) });
    });
  }
  for (const link of document.querySelectorAll('a[href^="/api/export/"]')) {
    link.addEventListener('click', (event) => {
      if (!apiToken()) return; // no key: the plain link downloads by itself
      event.preventDefault();
      downloadWithToken(link.getAttribute('href')).catch((e) => toast(e.message, true));
    });
  }
  $('log-older').addEventListener('click', async () => {
    const id = view.viewedId;
    const before = oldestId(view.rows);
    if (!id || !before) return;
    try {
      const data = await api.metrics(id, { limit: PAGE, before });
      if (view.viewedId !== id) return;
      view.rows = mergeRequests(view.rows, data.requests).rows;
      view.hasOlder = data.requests.length === PAGE;
      drawRows();
    } catch (error) {
      toast(error.message, true);
    }
  });

  refreshAll();
  connectSocket(bus);
  globalThis.kimiDashboard = { view, bus, analytics }; // read by the end-to-end tests
}

main();
