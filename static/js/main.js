// Entry point: builds the panels, wires them through the bus, keeps the page in step with /ws.
import { createAnalyticsPanel } from './modules/analytics.js';
import { api, apiToken, downloadWithToken } from './modules/api.js';
import { createBus } from './modules/bus.js';
import { createTokenChart } from './modules/chart.js';
import { formatCost, formatInt } from './modules/format.js';
import { renderGauge } from './modules/gauge.js';
import { createInspectorPanel } from './modules/inspector.js';
import { inspectOnClick, renderLog } from './modules/log.js';
import { createKeysPanel } from './modules/keys.js';
import { createMcpPanel } from './modules/mcp.js';
import { setupPage } from './modules/page.js';
import { createProvidersPanel } from './modules/providers.js';
import { createSavingsPanel } from './modules/savings.js';
import { createSessionsPanel } from './modules/sessions.js';
import { connectSocket } from './modules/socket.js';
import { setupToast } from './modules/toast.js';
import {
  chartSeries, coalesce, frameThrottle, LOG_CAP, mergeRequests, oldestId,
} from './modules/window.js';

const $ = (id) => document.getElementById(id);
const PAGE = 100;

function main() {
  const bus = createBus();
  setupToast({ bus });
  const page = setupPage({ bus });
  const view = {
    sessions: [], viewedId: null, follow: true, session: null, totals: null,
    rows: [], hasOlder: false,
  };
  const chart = createTokenChart($('token-chart'));
  const gaugeEls = {
    root: $('gauge'), fill: $('gauge-fill'), text: $('gauge-text'),
    detail: $('gauge-detail'), meter: $('gauge-meter'),
  };
  createSessionsPanel({ bus });
  createMcpPanel({ bus });
  createKeysPanel({ bus });
  createSavingsPanel({ bus });

  createProvidersPanel({ bus });
  const analytics = createAnalyticsPanel({ bus });
  createInspectorPanel({ bus });

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
    bus.emit('session:summary', { session: data.session, totals: data.totals });
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
    bus.emit('session:shown', { id });
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
    bus.emit('sessions:list', { sessions: view.sessions, viewedId: target });
    if (force || target !== view.viewedId) await loadSession(target);
  }

  bus.on('dashboard:refresh', ({ wait }) => {
    wait(refreshSessions(true)); // full reload of the viewed session's window
    wait(refreshGlobal());
  });

  // Messages go through the bus like the panels' own; setupToast shows them.
  function toast(text, error = false) {
    bus.emit('toast', { text, error });
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
        break;
      }
      case 'session':
        refreshSessions().then(refreshGlobal).catch((e) => toast(e.message, true));
        break;
      case 'masking':
      case 'compaction':
        if (event.session_id === view.viewedId) refreshMetrics().catch((e) => toast(e.message, true));
        break;
      default:
        break; // 'hello' and events this page does not show
    }
  }

  bus.on('sessions:refresh', () => refreshSessions().catch((e) => toast(e.message, true)));
  bus.on('metrics:refresh', () => refreshMetrics().catch((e) => toast(e.message, true)));
  bus.on('session:view', ({ id, follow }) => {
    const active = view.sessions.find((s) => s.active);
    view.follow = Boolean(follow) || active?.id === id;
    bus.emit('sessions:list', { sessions: view.sessions, viewedId: id });
    loadSession(id).catch((e) => toast(e.message, true));
    if (follow) refreshSessions().catch((e) => toast(e.message, true));
  });
  bus.on('ws:event', onEvent);
  inspectOnClick($('log-body'), bus);
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

  page.refreshAll();
  connectSocket(bus);
  globalThis.kimiDashboard = { view, bus, analytics }; // read by the end-to-end tests
}

main();
