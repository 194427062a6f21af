// The viewed session: which one (the active session, unless the user picked another), its
// header and export links, totals, gauge, token chart and request log (a bounded window).
// Tells the other panels through the bus: 'sessions:list', 'session:shown', 'session:summary'.
import { api } from './api.js';
import { createTokenChart } from './chart.js';
import { formatCost, formatInt } from './format.js';
import { renderGauge } from './gauge.js';
import { inspectOnClick, renderLog } from './log.js';
import {
  chartSeries, coalesce, frameThrottle, LOG_CAP, mergeRequests, oldestId,
} from './window.js';

const $ = (id) => document.getElementById(id);
const PAGE = 100;

export function createSessionViewPanel({ bus }) {
  const view = {
    sessions: [], viewedId: null, follow: true, session: null, totals: null,
    rows: [], hasOlder: false,
  };
  const chart = createTokenChart($('token-chart'));
  const gaugeEls = {
    root: $('gauge'), fill: $('gauge-fill'), text: $('gauge-text'),
    detail: $('gauge-detail'), meter: $('gauge-meter'),
  };
  const fail = (error) => bus.emit('toast', { text: error.message, error: true });

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

  // The list, and the session to view: the active one while following, else the picked one.
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

  function viewSession({ id, follow }) {
    const active = view.sessions.find((s) => s.active);
    view.follow = Boolean(follow) || active?.id === id;
    bus.emit('sessions:list', { sessions: view.sessions, viewedId: id });
    loadSession(id).catch(fail);
    if (follow) refreshSessions().catch(fail);
  }

  async function loadOlder() {
    const id = view.viewedId;
    const before = oldestId(view.rows);
    if (!id || !before) return;
    const data = await api.metrics(id, { limit: PAGE, before });
    if (view.viewedId !== id) return;
    view.rows = mergeRequests(view.rows, data.requests).rows;
    view.hasOlder = data.requests.length === PAGE;
    drawRows();
  }

  function onMetric(row) {
    if (row?.session_id === view.viewedId) {
      view.rows = mergeRequests(view.rows, [row]).rows;
      if (view.rows.length >= LOG_CAP) view.hasOlder = true;
      drawRows();
      refreshMetrics().catch(fail);
    } else if (row && view.follow && !view.sessions.some((s) => s.id === row.session_id)) {
      refreshSessions().catch(fail); // auto-session opened one
    }
  }

  function onEvent(event) {
    switch (event.type) {
      case 'metric':
        onMetric(event.request);
        break;
      case 'session': // the « Toutes sessions » line follows once the list is read
        refreshSessions().then(() => bus.emit('stats:refresh')).catch(fail);
        break;
      case 'masking':
      case 'compaction':
        if (event.session_id === view.viewedId) refreshMetrics().catch(fail);
        break;
      default:
        break; // 'hello' and events this panel does not show
    }
  }

  bus.on('dashboard:refresh', ({ wait }) => wait(refreshSessions(true))); // the whole window again
  bus.on('sessions:refresh', () => refreshSessions().catch(fail));
  bus.on('metrics:refresh', () => refreshMetrics().catch(fail));
  bus.on('session:view', viewSession);
  bus.on('ws:event', onEvent);
  $('log-older').addEventListener('click', () => loadOlder().catch(fail));
  inspectOnClick($('log-body'), bus);
  return { view };
}
