// Request inspector: one journal row in full — timings, tokens, cost, error — and, when
// [logging] store_bodies kept them, what the client sent next to what the provider received.
import { api } from './api.js';
import {
  formatCost, formatDate, formatInt, formatMs, statusLabel, usageLabel,
} from './format.js';

const MASK_REF = /mask:([0-9a-f]{32})/g;
// The hub's summary starts with this line, in the prompt's language ([savings] prompt_language).
const SUMMARY_MARKS = ['[Summary of the earlier conversation', '[Résumé de la conversation antérieure'];

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

// Text of a message's content: a string, or the text parts of a list.
export function contentText(content) {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((part) => (part && typeof part === 'object'
      ? (typeof part.text === 'string' ? part.text : `[${part.type ?? 'partie'}]`) : '')).join('\n');
  }
  return content === null || content === undefined ? '' : JSON.stringify(content);
}

export function maskRefs(text) {
  return [...new Set([...String(text).matchAll(MASK_REF)].map((m) => m[1]))];
}

export function isSummary(message) {
  const text = contentText(message?.content);
  return SUMMARY_MARKS.some((mark) => text.startsWith(mark));
}

// What the table of facts shows, as [label, value] pairs (pure: tested with node).
export function facts(data) {
  const r = data.request;
  const gap = r.usage_source === 'upstream' && Number.isFinite(r.prompt_estimate)
    ? ` (estimation hub : ${formatInt(r.prompt_estimate)})` : '';
  const rows = [
    ['Modèle', `${r.model_key} → ${r.provider} / ${r.upstream_model}`],
    ['Session', `${data.session?.name ?? 'supprimée'} (n° ${r.session_id})`],
    ['Clé virtuelle', r.key_id ? String(r.key_id) : 'aucune (accès direct)'],
    ['Date', formatDate(r.created_at)],
    ['Statut', `${statusLabel(r.status)} · HTTP ${r.http_status}${r.attempts > 1 ? ` · ${r.attempts} tentatives` : ''}`],
    ['Premier octet', formatMs(r.ttfb_ms)],
    ['Durée totale', formatMs(r.total_ms)],
    ['Tokens prompt', `${formatInt(r.prompt_tokens)} — ${usageLabel(r.usage_source)}${gap}`],
  ];
  if (Number.isFinite(r.cached_tokens)) rows.push(['Tokens en cache', formatInt(r.cached_tokens)]);
  rows.push(
    ['Tokens complétion', formatInt(r.completion_tokens)],
    ['Tokens économisés', formatInt(r.tokens_saved)],
    ['Coût', formatCost(r.cost)],
    ['Flux', r.stream ? 'oui (SSE)' : 'non'],
  );
  return rows;
}

function messageBlock(message, index, changed) {
  const box = el('article', undefined, 'message');
  box.dataset.role = String(message?.role ?? '?');
  if (isSummary(message)) box.classList.add('summary');
  const head = el('header', `${index + 1}. ${message?.role ?? '?'}`);
  if (isSummary(message)) head.append(el('span', 'résumé de compaction', 'badge'));
  else if (changed) {
    box.classList.add('changed');
    head.append(el('span', 'réécrit', 'badge'));
  }
  const text = contentText(message?.content);
  box.append(head, el('pre', text || (message?.tool_calls ? '(appel d’outil)' : '(vide)')));
  if (Array.isArray(message?.tool_calls) && message.tool_calls.length) {
    box.append(el('pre', JSON.stringify(message.tool_calls, null, 1), 'tool-calls'));
  }
  for (const hash of maskRefs(text)) {
    const button = el('button', `Afficher l’original masqué (mask:${hash.slice(0, 8)}…)`, 'ghost small');
    button.type = 'button';
    button.dataset.mask = hash;
    box.append(button);
  }
  return box;
}

// Same count on both sides (masking): mark the messages the hub rewrote. A compaction
// changes the count; its summary carries its own badge.
export function rewrittenIndexes(client, sent) {
  if (client.length !== sent.length) return new Set();
  return new Set(sent.flatMap((m, i) => (JSON.stringify(m) === JSON.stringify(client[i]) ? [] : [i])));
}

function column(title, messages, note, changed = new Set()) {
  const col = el('section', undefined, 'body-column');
  col.append(el('h3', title));
  if (note) col.append(el('p', note, 'small muted'));
  messages.forEach((m, i) => col.append(messageBlock(m, i, changed.has(i))));
  return col;
}

function bodiesView(bodies) {
  if (!bodies.stored) {
    return el('p', bodies.enabled
      ? 'Corps non conservé pour cette requête (antérieure à l’activation, ou au-delà de la rétention).'
      : 'Corps des requêtes non conservés : activez [logging] store_bodies = true dans config.toml.',
    'muted small');
  }
  const client = Array.isArray(bodies.client?.messages) ? bodies.client.messages : [];
  const wrap = el('div', undefined, 'bodies');
  if (bodies.forwarded) {
    const sent = Array.isArray(bodies.forwarded.messages) ? bodies.forwarded.messages : [];
    wrap.classList.add('side-by-side');
    wrap.append(
      column('Envoyé par le client', client, `${client.length} message(s)`),
      column('Reçu par le fournisseur (réécrit par le hub)', sent, `${sent.length} message(s)`,
        rewrittenIndexes(client, sent)),
    );
  } else {
    wrap.append(column('Envoyé par le client (transmis sans réécriture)', client));
  }
  return wrap;
}

export function createInspectorPanel({ bus }) {
  const dialog = document.getElementById('inspector');
  const body = dialog.querySelector('#inspector-body');
  const title = dialog.querySelector('#inspector-title');

  async function open(id) {
    title.textContent = `Requête n° ${id}`;
    body.replaceChildren(el('p', 'Chargement…', 'muted'));
    if (!dialog.open) dialog.showModal();
    let data;
    try {
      data = await api.inspect(id);
    } catch (error) {
      body.replaceChildren(el('p', `Lecture impossible : ${error.message}`, 'error-text'));
      return;
    }
    const dl = el('dl', undefined, 'facts');
    for (const [label, value] of facts(data)) {
      const div = el('div');
      div.append(el('dt', label), el('dd', value));
      dl.append(div);
    }
    const parts = [dl];
    if (data.request.error) {
      parts.push(el('h3', 'Erreur'), el('pre', data.request.error, 'error-box'));
    }
    parts.push(el('h3', 'Messages'), bodiesView(data.bodies));
    body.replaceChildren(...parts);
  }

  body.addEventListener('click', async (event) => {
    const button = event.target.closest('button[data-mask]');
    if (!button) return;
    button.disabled = true;
    try {
      const original = await api.mask(button.dataset.mask);
      button.replaceWith(el('pre', original, 'mask-original'));
    } catch (error) {
      button.disabled = false;
      bus.emit('toast', { text: `Original introuvable : ${error.message}`, error: true });
    }
  });
  dialog.querySelector('#inspector-close').addEventListener('click', () => dialog.close());
  bus.on('inspect', ({ id }) => open(id).catch((e) => bus.emit('toast', { text: e.message, error: true })));
  return { open };
}
