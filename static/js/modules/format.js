// French formatting of numbers, costs, durations and dates (Intl 'fr-FR').
// Note: fr-FR groups digits with a narrow no-break space (U+202F): 1 234.

const LOCALE = 'fr-FR';
const integer = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 0 });
const percent = new Intl.NumberFormat(LOCALE, { style: 'percent', maximumFractionDigits: 1 });
const dateTime = new Intl.DateTimeFormat(LOCALE, {
  day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit',
});
const timeOnly = new Intl.DateTimeFormat(LOCALE, {
  hour: '2-digit', minute: '2-digit', second: '2-digit',
});

const DASH = '—';

function isNumber(value) {
  return typeof value === 'number' && Number.isFinite(value);
}

export function formatInt(value) {
  return isNumber(value) ? integer.format(value) : DASH;
}

export function formatPercent(ratio) {
  return isNumber(ratio) ? percent.format(ratio) : DASH;
}

// Costs are tiny per request: below a cent, two significant digits keep them non-zero.
export function formatCost(value) {
  if (!isNumber(value)) return DASH;
  const small = value !== 0 && Math.abs(value) < 0.01;
  return new Intl.NumberFormat(LOCALE, {
    style: 'currency',
    currency: 'USD',
    ...(small ? { maximumSignificantDigits: 2 } : { minimumFractionDigits: 2, maximumFractionDigits: 2 }),
  }).format(value);
}

export function formatMs(ms) {
  if (!isNumber(ms)) return DASH;
  if (ms < 1000) return `${integer.format(Math.round(ms))} ms`;
  return `${new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 2 }).format(ms / 1000)} s`;
}

// Epoch seconds (the API's unit) -> "23/11/2026 14:05".
export function formatDate(epochSeconds) {
  if (!isNumber(epochSeconds)) return DASH;
  return dateTime.format(new Date(epochSeconds * 1000)).replace(/\s+/u, ' ');
}

export function formatTime(epochSeconds) {
  if (!isNumber(epochSeconds)) return DASH;
  return timeOnly.format(new Date(epochSeconds * 1000));
}

const STATUS_LABELS = {
  ok: 'OK', error: 'Erreur', partial: 'Partielle', cancelled: 'Annulée', interrupted: 'Interrompue',
};

export function statusLabel(status) {
  return STATUS_LABELS[status] ?? String(status ?? DASH);
}

export function usageLabel(source) {
  return source === 'upstream' ? 'réel' : 'estimé';
}
