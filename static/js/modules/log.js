// The request log table (DOM built with textContent only: model names are untrusted).
import {
  formatDate, formatInt, formatMs, statusLabel, usageLabel,
} from './format.js';

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

// The number opens the request inspector (click or keyboard).
function idCell(id) {
  const td = document.createElement('td');
  td.className = 'num';
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'id-link';
  button.dataset.inspect = String(id);
  button.textContent = formatInt(id);
  button.setAttribute('aria-label', `Inspecter la requête n° ${id}`);
  td.append(button);
  return td;
}

// The error is written out under the status: readable without hovering.
function statusCell(row) {
  const td = cell(statusLabel(row.status), `status status-${row.status}`);
  if (row.error) {
    const detail = document.createElement('div');
    detail.className = 'error-detail';
    detail.textContent = row.error.length > 300 ? `${row.error.slice(0, 300)}…` : row.error;
    td.append(detail);
  }
  return td;
}

function usageText(row) {
  const label = usageLabel(row.usage_source);
  if (row.usage_source !== 'upstream' || !Number.isFinite(row.prompt_estimate)) return label;
  const gap = row.prompt_tokens - row.prompt_estimate;
  const sign = gap > 0 ? '+' : '';
  return `${label} (estimé ${formatInt(row.prompt_estimate)}, écart ${sign}${formatInt(gap)})`;
}

export function rowElement(row) {
  const tr = document.createElement('tr');
  tr.dataset.id = String(row.id);
  tr.dataset.status = row.status;
  const latency = Number.isFinite(row.ttfb_ms)
    ? `${formatMs(row.total_ms)} (1er octet ${formatMs(row.ttfb_ms)})`
    : formatMs(row.total_ms);
  tr.append(
    idCell(row.id),
    cell(formatDate(row.created_at), 'nowrap'),
    cell(row.model_key ?? '—', 'model'),
    cell(formatInt(row.prompt_tokens), 'num'),
    cell(formatInt(row.completion_tokens), 'num'),
    cell(latency, 'num'),
    statusCell(row),
    cell(usageText(row)),
  );
  return tr;
}

export function renderLog(tbody, rows, emptyText = 'Aucune requête dans cette session.') {
  const fragment = document.createDocumentFragment();
  if (rows.length === 0) {
    const tr = document.createElement('tr');
    const td = cell(emptyText, 'muted');
    td.colSpan = 8;
    tr.append(td);
    fragment.append(tr);
  }
  for (const row of rows) fragment.append(rowElement(row));
  tbody.replaceChildren(fragment);
}

// A click on a row number asks for the inspector through the bus ('inspect').
export function inspectOnClick(tbody, bus) {
  tbody.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-inspect]');
    if (button) bus.emit('inspect', { id: Number(button.dataset.inspect) });
  });
}
