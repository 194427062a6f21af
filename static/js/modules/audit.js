// « Appels d'outils » panel: the audit of MCP tool calls (GET /api/audit, admin key),
// newest first, filtered, paged with `before`; live rows from the 'audit' events and a
// toast for each 'injection' event. Talks to the rest of the page through the bus only.
import { ApiError, request } from './api.js';
import { formatDate, formatInt, formatMs } from './format.js';

const PAGE = 50;
const DECISIONS = {
  allowed: 'autorisé', denied: 'refusé (règle)', unknown: 'inconnu', unavailable: 'indisponible',
};
const CALLERS = { admin: 'admin', key: 'clé', stdio: 'stdio', local: 'local' };
const FLAGS = {
  injection_result: 'injection dans le résultat',
  injection_description: 'injection dans la description',
};
const FILTERS = ['caller', 'key', 'server', 'tool', 'decision'];

export function decisionLabel(decision) {
  return DECISIONS[decision] ?? String(decision ?? '?');
}

export function callerLabel(entry) {
  const kind = CALLERS[entry?.caller] ?? String(entry?.caller ?? '?');
  return entry?.key_id ? `${kind} ${entry.key_id}` : kind;
}

// The query string of GET /api/audit (and of the exports) from the form's raw values.
export function auditQuery(values, before = null, limit = PAGE) {
  const query = new URLSearchParams();
  for (const name of FILTERS) {
    const value = String(values?.[name] ?? '').trim();
    if (value) query.set(name, value);
  }
  if (values?.flagged) query.set('flagged', 'true');
  if (limit) query.set('limit', String(limit));
  if (before) query.set('before', String(before));
  return query.toString();
}

// Whether a live entry belongs in the table under the current filters.
export function matchesFilters(entry, values) {
  const wanted = {
    caller: entry.caller, key: entry.key_id, server: entry.server, tool: entry.tool,
  };
  for (const [name, actual] of Object.entries(wanted)) {
    const value = String(values?.[name] ?? '').trim();
    if (value && value !== String(actual ?? '')) return false;
  }
  const decision = String(values?.decision ?? '');
  if (decision === 'refused' ? entry.decision === 'allowed' : decision && decision !== entry.decision) {
    return false;
  }
  return !values?.flagged || (Array.isArray(entry.flags) && entry.flags.length > 0);
}

// The texts of one table row, in column order.
export function auditCells(entry) {
  const flags = Array.isArray(entry.flags) ? entry.flags.map((f) => FLAGS[f] ?? String(f)) : [];
  const where = entry.via ? `${entry.endpoint} (via ${entry.via})` : String(entry.endpoint ?? '');
  return [
    formatDate(entry.created_at),
    callerLabel(entry),
    where,
    entry.server ? `${entry.server} · ${entry.tool}` : `hub · ${entry.tool}`,
    decisionLabel(entry.decision) + (entry.reason ? ` — ${entry.reason}` : ''),
    Number.isFinite(entry.duration_ms) ? formatMs(entry.duration_ms) : '—',
    Number.isInteger(entry.result_chars) ? formatInt(entry.result_chars) : '—',
    flags.join(', '),
  ];
}

function rowOf(entry) {
  const tr = document.createElement('tr');
  tr.dataset.id = String(entry.id ?? '');
  tr.dataset.decision = String(entry.decision ?? '');
  if (Array.isArray(entry.flags) && entry.flags.length) tr.dataset.flagged = 'true';
  for (const text of auditCells(entry)) {
    const td = document.createElement('td');
    td.textContent = text;
    tr.append(td);
  }
  return tr;
}

function note(text, className = 'muted') {
  const tr = document.createElement('tr');
  const td = Object.assign(document.createElement('td'), { className, textContent: text });
  td.colSpan = 8;
  tr.append(td);
  return tr;
}

export function createAuditPanel({ bus }) {
  const root = document.getElementById('audit-panel');
  const form = root.querySelector('#audit-filters');
  const body = root.querySelector('#audit-body');
  const older = root.querySelector('#audit-older');
  const exports = root.querySelectorAll('a[data-audit-export]');
  let next = null;
  let shown = 0;
  let latest = 0;

  const values = () => Object.fromEntries(new FormData(form).entries());

  function linkExports() {
    const query = auditQuery(values(), null, 0);
    for (const link of exports) {
      const base = `/api/export/audit/${link.dataset.auditExport}`;
      link.setAttribute('href', query ? `${base}?${query}` : base);
    }
  }

  async function load(before = null) {
    const mine = ++latest;
    let data;
    try {
      data = await request('GET', `/api/audit?${auditQuery(values(), before)}`);
    } catch (error) {
      if (mine !== latest) return;
      const text = error instanceof ApiError && error.status === 403
        ? 'Réservé à la clé d’administration.' : `Journal des outils illisible : ${error.message}`;
      body.replaceChildren(note(text, 'error-text'));
      older.hidden = true;
      return;
    }
    if (mine !== latest) return;
    const entries = Array.isArray(data?.entries) ? data.entries : [];
    const rows = entries.map(rowOf);
    if (before) body.append(...rows);
    else body.replaceChildren(...(rows.length ? rows : [note('Aucun appel d’outil pour ces filtres.')]));
    shown = before ? shown + rows.length : rows.length;
    next = data?.next_before ?? null;
    older.hidden = !next;
  }

  function refresh() {
    linkExports();
    return load();
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    refresh();
  });
  form.addEventListener('change', () => refresh());
  older.addEventListener('click', () => { if (next) load(next); });
  bus.on('dashboard:refresh', ({ wait }) => wait(refresh()));
  bus.on('ws:event', (event) => {
    if (event.type === 'audit' && event.entry && matchesFilters(event.entry, values())) {
      if (!shown) body.replaceChildren();
      body.prepend(rowOf(event.entry));
      shown += 1;
    } else if (event.type === 'injection') {
      const where = event.server ? `${event.server} · ${event.tool}` : String(event.tool ?? '');
      const source = event.source === 'description' ? 'la description' : 'le résultat';
      bus.emit('toast', {
        text: `Injection d’instructions suspecte dans ${source} de ${where} : « ${event.excerpt ?? ''} »`,
        error: true,
      });
    }
  });

  linkExports();
  return { refresh };
}
