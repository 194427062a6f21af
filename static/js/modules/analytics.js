// Analytics panel: a date range and filters drive the daily charts, the per-model and
// per-provider tables, latency percentiles and the searchable journal (server-side pages).
import { api } from './api.js';
import { createDailyCharts } from './daily_charts.js';
import { formatCost, formatInt, formatMs, formatPercent } from './format.js';
import { inspectOnClick, renderLog } from './log.js';

const PAGE = 50;
const DAY_MS = 86_400_000;
export const FILTER_FIELDS = ['from', 'to', 'model', 'provider', 'session', 'key', 'status', 'q'];

// 'YYYY-MM-DD' of a Date in the browser's time zone.
export function isoDay(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

export function presetRange(days, now = new Date()) {
  if (!days) return { from: '', to: '' };
  return { from: isoDay(new Date(now.getTime() - (days - 1) * DAY_MS)), to: isoDay(now) };
}

// Query string of the filters (empty fields left out) plus the browser's UTC offset.
export function queryOf(filters, extra = {}, offsetMinutes = -new Date().getTimezoneOffset()) {
  const query = new URLSearchParams();
  for (const name of FILTER_FIELDS) {
    const value = String(filters[name] ?? '').trim();
    if (value) query.set(name, value);
  }
  query.set('tz', String(offsetMinutes));
  for (const [name, value] of Object.entries(extra)) {
    if (value !== null && value !== undefined) query.set(name, String(value));
  }
  return query.toString();
}

// Every day of the range, zeros where nothing was recorded (at most 366 days drawn).
export function fillDays(days, from, to) {
  const byDay = new Map(days.map((d) => [d.day, d]));
  const first = from || days[0]?.day;
  const last = to || days.at(-1)?.day;
  if (!first || !last) return days;
  const out = [];
  for (let t = Date.parse(`${first}T00:00:00Z`), end = Date.parse(`${last}T00:00:00Z`);
    t <= end && out.length < 366; t += DAY_MS) {
    const day = new Date(t).toISOString().slice(0, 10);
    out.push(byDay.get(day) ?? {
      day, requests: 0, prompt_tokens: 0, completion_tokens: 0, cost: 0, errors: 0, tokens_saved: 0,
    });
  }
  return out;
}

function td(text, className) {
  const cell = document.createElement('td');
  cell.textContent = text;
  if (className) cell.className = className;
  return cell;
}

function groupTable(tbody, entries, key, withProvider) {
  const rows = entries.map((e) => {
    const tr = document.createElement('tr');
    tr.append(td(e[key], 'model'));
    if (withProvider) tr.append(td(e.provider ?? '—'));
    tr.append(
      td(formatInt(e.requests), 'num'), td(formatInt(e.total_tokens), 'num'),
      td(formatCost(e.cost), 'num'), td(formatPercent(e.error_rate), 'num'),
      td(formatInt(e.tokens_saved), 'num'),
    );
    return tr;
  });
  if (rows.length === 0) {
    const tr = document.createElement('tr');
    const cell = td('Aucune requête sur cette période.', 'muted');
    cell.colSpan = withProvider ? 7 : 6;
    tr.append(cell);
    rows.push(tr);
  }
  tbody.replaceChildren(...rows);
}

export function createAnalyticsPanel({ bus }) {
  const $ = (id) => document.getElementById(id);
  const els = {
    root: $('analytics'), form: $('analytics-filters'), summary: $('analytics-summary'),
    tokensChart: $('daily-tokens-chart'), requestsChart: $('daily-requests-chart'),
    byModel: $('analytics-by-model'), byProvider: $('analytics-by-provider'),
    latency: $('analytics-latency'), results: $('search-results'), pageInfo: $('search-info'),
    newer: $('search-newer'), older: $('search-older'),
  };
  const charts = createDailyCharts(els.tokensChart, els.requestsChart);
  const state = { filters: { ...presetRange(30) }, cursors: [null], page: 0 };
  let known = { models: [], providers: [] }; // from 'providers:known', for the filter lists
  let latest = 0;
  let soonTimer = null;

  function readForm() {
    const data = new FormData(els.form);
    state.filters = Object.fromEntries(FILTER_FIELDS.map((n) => [n, String(data.get(n) ?? '')]));
  }

  function writeForm() {
    for (const name of FILTER_FIELDS) {
      const field = els.form.elements[name];
      if (field) field.value = state.filters[name] ?? '';
    }
  }

  function setOptions(select, values) {
    const current = select.value;
    const first = select.options[0];
    const options = [...new Set(values)].sort().map((v) => new Option(v, v));
    select.replaceChildren(first, ...options);
    select.value = values.includes(current) ? current : '';
  }

  async function loadSummary(mine) {
    const data = await api.analytics(queryOf(state.filters));
    if (mine !== latest) return;
    const t = data.totals;
    els.summary.textContent = `${formatInt(t.requests)} requête(s) · ${formatInt(t.total_tokens)} tokens `
      + `(${formatInt(t.prompt_tokens)} prompt, ${formatInt(t.completion_tokens)} complétion) · `
      + `${formatCost(t.cost)} · taux d’erreur ${formatPercent(t.error_rate)} · `
      + `${formatInt(t.tokens_saved)} tokens économisés`;
    charts.update(fillDays(data.days, state.filters.from, state.filters.to));
    groupTable(els.byModel, data.by_model, 'model_key', true);
    groupTable(els.byProvider, data.by_provider, 'provider', false);
    for (const kind of ['total', 'ttfb']) {
      for (const p of ['p50', 'p90', 'p99']) {
        els.latency.querySelector(`[data-latency="${kind}-${p}"]`).textContent = formatMs(data.latency_ms[kind][p]);
      }
    }
    setOptions(els.form.elements.model, [...known.models, ...data.by_model.map((m) => m.model_key)]);
    setOptions(els.form.elements.provider, [...known.providers, ...data.by_provider.map((p) => p.provider)]);
  }

  async function loadPage(mine) {
    const before = state.cursors[state.page];
    const data = await api.searchRequests(queryOf(state.filters, { limit: PAGE, before }));
    if (mine !== latest) return;
    renderLog(els.results, data.requests, 'Aucune requête ne correspond à ces filtres.');
    state.cursors[state.page + 1] = data.next_before;
    const first = state.page * PAGE + (data.requests.length ? 1 : 0);
    els.pageInfo.textContent = `${formatInt(data.total)} résultat(s) · ${formatInt(first)}–`
      + `${formatInt(state.page * PAGE + data.requests.length)}`;
    els.newer.disabled = state.page === 0;
    els.older.disabled = !data.next_before;
  }

  async function refresh({ resetPage = true } = {}) {
    const mine = ++latest;
    if (resetPage) { state.cursors = [null]; state.page = 0; }
    els.root.dataset.loading = 'true';
    try {
      await Promise.all([loadSummary(mine), loadPage(mine)]);
    } catch (error) {
      bus.emit('toast', { text: `Analyse indisponible : ${error.message}`, error: true });
    } finally {
      if (mine === latest) els.root.dataset.loading = 'false';
    }
  }

  els.form.addEventListener('submit', (event) => {
    event.preventDefault();
    readForm();
    refresh();
  });
  els.form.addEventListener('click', (event) => {
    const preset = event.target.closest('button[data-days]');
    if (!preset) return;
    readForm();
    Object.assign(state.filters, presetRange(Number(preset.dataset.days)));
    writeForm();
    refresh();
  });
  els.older.addEventListener('click', () => {
    if (!state.cursors[state.page + 1]) return;
    state.page += 1;
    const mine = ++latest;
    loadPage(mine).catch((e) => bus.emit('toast', { text: e.message, error: true }));
  });
  els.newer.addEventListener('click', () => {
    if (state.page === 0) return;
    state.page -= 1;
    const mine = ++latest;
    loadPage(mine).catch((e) => bus.emit('toast', { text: e.message, error: true }));
  });
  inspectOnClick(els.results, bus);

  // The filter lists are complete once the hub's models and providers are known: load then.
  bus.on('providers:known', ({ models, providers, wait }) => {
    known = { models, providers };
    wait(refresh());
  });
  // New rows move the figures: refresh at most every few seconds.
  bus.on('ws:event', (event) => {
    if (event.type !== 'metric' || soonTimer) return;
    soonTimer = setTimeout(() => { soonTimer = null; refresh({ resetPage: false }); }, 3000);
  });
  writeForm();
  return { refresh, state };
}
