// Savings panel: masking/compaction events, tokens saved, compaction preview and apply.
import { api } from './api.js';
import { formatInt, formatTime } from './format.js';

const MAX_EVENTS = 30;
const MISSING = 'La compaction n’est pas disponible sur ce hub (route absente).';

export function describeSaving(event) {
  const saved = formatInt(event.tokens_saved ?? 0);
  const what = event.type === 'masking' ? 'Masquage' : 'Compaction';
  const detail = event.message ? ` — ${event.message}` : '';
  return `${formatTime(event.at)} · ${what} : ${saved} tokens économisés${detail}`;
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

export function createSavingsPanel({ els, bus, viewedId }) {
  const events = [];

  function renderEvents() {
    if (events.length === 0) return;
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
    const id = viewedId();
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
    const id = viewedId();
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
    const id = viewedId();
    try {
      await api.setCompaction(id, els.toggle.checked);
      bus.emit('toast', { text: els.toggle.checked ? 'Compaction automatique activée.' : 'Compaction automatique désactivée.' });
    } catch (error) {
      els.toggle.checked = !els.toggle.checked;
      bus.emit('toast', { text: error.message, error: true });
    }
  });

  return {
    addEvent(event) {
      events.unshift(event);
      events.length = Math.min(events.length, MAX_EVENTS);
      renderEvents();
    },
    setSession(session, totals) {
      els.toggle.checked = Boolean(session?.compaction);
      els.total.textContent = formatInt(totals?.tokens_saved ?? 0);
    },
    resetPreview() {
      els.result.textContent = '';
      els.apply.disabled = true;
    },
  };
}
