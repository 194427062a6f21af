// Savings panel: masking/compaction events, tokens saved, compaction preview and apply.
import { api } from './api.js';
import { formatInt, formatTime } from './format.js';

const MAX_EVENTS = 30;
const MISSING = 'La compaction n’est pas disponible sur ce hub (route absente).';

// A live /ws event and a stored one (GET /api/savings) in one shape for the list.
export function normaliseSaving(event) {
  const stored = event.kind !== undefined;
  const detail = (stored ? event.detail : event) ?? {};
  const before = event.tokens_before ?? detail.tokens_before;
  const after = event.tokens_after ?? detail.tokens_after;
  const computed = Number.isFinite(before) && Number.isFinite(after) ? before - after : 0;
  return {
    id: stored ? event.id : event.event_id,
    session_id: event.session_id,
    type: stored ? event.kind : event.type,
    at: stored ? event.created_at : event.at,
    tokens_saved: event.tokens_saved ?? computed,
    rounds: detail.rounds,
    masked: Array.isArray(detail.masked) ? detail.masked.length : undefined,
    message: event.message,
  };
}

export function describeSaving(event) {
  const saved = formatInt(event.tokens_saved ?? 0);
  const what = event.type === 'masking' ? 'Masquage' : 'Compaction';
  let extra = '';
  if (event.type === 'masking' && event.masked) extra = ` (${formatInt(event.masked)} contenu(s))`;
  if (event.type !== 'masking' && event.rounds) extra = ` (${formatInt(event.rounds)} tour(s) résumé(s))`;
  const detail = event.message ? ` — ${event.message}` : '';
  return `${formatTime(event.at)} · ${what}${extra} : ${saved} tokens économisés${detail}`;
}

// Newest first, one entry per event id, at most MAX_EVENTS.
export function mergeSavings(events) {
  const seen = new Set();
  const unique = [];
  for (const event of [...events].sort((a, b) => (b.at ?? 0) - (a.at ?? 0))) {
    if (event.id !== undefined && seen.has(event.id)) continue;
    if (event.id !== undefined) seen.add(event.id);
    unique.push(event);
  }
  return unique.slice(0, MAX_EVENTS);
}

export function describePreview(result) {
  const parts = [];
  const before = result?.tokens_before ?? result?.before_tokens;
  const after = result?.tokens_after ?? result?.after_tokens;
  if (Number.isFinite(before)) parts.push(`avant : ${formatInt(before)} tokens`);
  if (Number.isFinite(after)) parts.push(`après : ${formatInt(after)} tokens`);
  const saved = result?.tokens_saved ?? (Number.isFinite(before) && Number.isFinite(after) ? before - after : null);
  if (Number.isFinite(saved)) parts.push(`économie : ${formatInt(saved)} tokens`);
  if (Number.isFinite(result?.messages_compacted)) parts.push(`${formatInt(result.messages_compacted)} message(s) résumé(s)`);
  return parts.length ? parts.join(' · ') : 'Compaction calculée.';
}

export function createSavingsPanel({ bus }) {
  const $ = (id) => document.getElementById(id);
  const els = {
    total: $('saved-total'), toggle: $('compaction-toggle'), preview: $('compaction-preview'),
    apply: $('compaction-apply'), result: $('compaction-result'), list: $('savings-events'),
  };
  let events = [];
  let shown = null; // the viewed session, whose events the list holds

  function renderEvents() {
    if (events.length === 0) {
      const li = document.createElement('li');
      li.className = 'muted';
      li.textContent = 'Aucun masquage ni compaction pour l’instant.';
      els.list.replaceChildren(li);
      return;
    }
    els.list.replaceChildren(...events.map((e) => {
      const li = document.createElement('li');
      li.textContent = describeSaving(e);
      return li;
    }));
  }

  function failure(error) {
    return error.status === 404 || error.status === 405 ? MISSING : `Erreur : ${error.message}`;
  }

  els.preview.addEventListener('click', async () => {
    const id = shown;
    if (!id) return;
    els.result.textContent = 'Calcul de l’aperçu…';
    els.apply.disabled = true;
    try {
      els.result.textContent = `Aperçu — ${describePreview(await api.compactionPreview(id))}`;
      els.apply.disabled = false;
    } catch (error) {
      els.result.textContent = failure(error);
    }
  });

  els.apply.addEventListener('click', async () => {
    const id = shown;
    if (!id) return;
    els.apply.disabled = true;
    try {
      els.result.textContent = `Compaction appliquée — ${describePreview(await api.compactionApply(id))}`;
      bus.emit('metrics:refresh');
    } catch (error) {
      els.result.textContent = failure(error);
    }
  });

  els.toggle.addEventListener('change', async () => {
    const id = shown;
    try {
      await api.setCompaction(id, els.toggle.checked);
      bus.emit('toast', { text: els.toggle.checked ? 'Compaction automatique activée.' : 'Compaction automatique désactivée.' });
    } catch (error) {
      els.toggle.checked = !els.toggle.checked;
      bus.emit('toast', { text: error.message, error: true });
    }
  });

  function addEvent(raw) {
    const event = normaliseSaving(raw);
    if (shown !== null && event.session_id !== shown) return;
    events = mergeSavings([event, ...events]);
    renderEvents();
  }

  // Past events of a session from /api (live ones arriving meanwhile are kept).
  async function load(id) {
    shown = id ?? null;
    events = [];
    renderEvents();
    if (!id) return;
    const data = await api.savings(id);
    if (shown !== id) return; // another session was picked meanwhile
    events = mergeSavings([...events, ...(data.events ?? []).map(normaliseSaving)]);
    renderEvents();
  }

  bus.on('session:shown', ({ id }) => {
    els.result.textContent = '';
    els.apply.disabled = true;
    load(id).catch((e) => bus.emit('toast', { text: `Événements d’économies : ${e.message}`, error: true }));
  });
  bus.on('session:summary', ({ session, totals }) => {
    els.toggle.checked = Boolean(session?.compaction);
    els.total.textContent = formatInt(totals?.tokens_saved ?? 0);
  });
  bus.on('ws:event', (event) => {
    if (event.type === 'masking' || event.type === 'compaction') addEvent(event);
  });
}
