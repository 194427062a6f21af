// Virtual keys panel (/api/keys): list, create (the secret is shown once), revoke.
import { ApiError, request } from './api.js';
import { confirmDialog } from './dialog.js';
import { formatCost, formatDate, formatInt } from './format.js';

const PERIODS = { day: 'par jour', month: 'par mois', total: 'au total' };

export function patterns(text) {
  return String(text ?? '').split(',').map((p) => p.trim()).filter(Boolean);
}

// The JSON body of POST /api/keys from the form's raw values; empty fields are omitted.
export function keyBody(values) {
  const body = { name: String(values.name ?? '').trim() };
  const number = (raw) => (String(raw ?? '').trim() === '' ? null : Number(raw));
  const budget = number(values.budget);
  if (budget !== null) body.budget = budget;
  if (values.period) body.period = values.period;
  for (const name of ['rpm', 'tpm']) {
    const value = number(values[name]);
    if (value !== null) body[name] = value;
  }
  const models = patterns(values.models);
  if (models.length) body.models = models;
  const tools = patterns(values.tools);
  if (tools.length) body.tools = tools;
  if (values.tools_default === 'deny') body.tools_default = 'deny';
  if (values.expires) body.expires_at = `${values.expires}T23:59:59`;
  return body;
}

export function keySummary(key) {
  const parts = [];
  if (key.budget !== null && key.budget !== undefined) {
    const left = Number.isFinite(key.budget_remaining) ? key.budget_remaining : key.budget;
    parts.push(`budget ${formatCost(left)} / ${formatCost(key.budget)} ${PERIODS[key.period] ?? ''}`.trim());
  }
  if (key.rpm) parts.push(`${formatInt(key.rpm)} req/min`);
  if (key.tpm) parts.push(`${formatInt(key.tpm)} tokens/min`);
  if (key.models?.length) parts.push(`modèles : ${key.models.join(', ')}`);
  if (key.tools?.length) parts.push(`outils : ${key.tools.join(', ')}`);
  else if (key.tools_default === 'deny') parts.push('aucun outil MCP');
  if (key.expires_at) parts.push(`expire le ${formatDate(key.expires_at)}`);
  return parts.join(' · ') || 'sans limite';
}

function keyItem(key, onRevoke) {
  const li = document.createElement('li');
  li.dataset.keyId = key.id;
  const head = document.createElement('div');
  head.className = 'row between';
  const title = document.createElement('strong');
  title.textContent = `${key.name} (${key.id})`;
  head.append(title);
  if (key.revoked_at) {
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.textContent = 'révoquée';
    head.append(badge);
  } else {
    const revoke = document.createElement('button');
    revoke.type = 'button';
    revoke.className = 'ghost small danger-text';
    revoke.textContent = 'Révoquer';
    revoke.addEventListener('click', () => onRevoke(key));
    head.append(revoke);
  }
  const detail = document.createElement('p');
  detail.className = 'small muted';
  detail.textContent = keySummary(key);
  li.append(head, detail);
  return li;
}

function note(text) {
  return Object.assign(document.createElement('li'), { className: 'muted', textContent: text });
}

export function createKeysPanel({ bus }) {
  const root = document.getElementById('keys-panel');
  const dialog = document.getElementById('confirm-dialog');
  const list = root.querySelector('#key-list');
  const form = root.querySelector('#key-create');
  const secretBox = root.querySelector('#key-secret');

  async function refresh() {
    try {
      const data = await request('GET', '/api/keys');
      const keys = Array.isArray(data?.keys) ? data.keys : [];
      list.replaceChildren(...keys.map((key) => keyItem(key, revoke)));
      if (!keys.length) list.replaceChildren(note('Aucune clé pour l’instant.'));
    } catch (error) {
      const text = error instanceof ApiError && error.status === 403
        ? 'Réservé à la clé d’administration.' : error.message;
      list.replaceChildren(note(text));
    }
  }

  async function revoke(key) {
    const text = `Révoquer la clé « ${key.name} » ? Les requêtes qui l’utilisent seront refusées.`;
    if (!(await confirmDialog(dialog, text, 'Révoquer'))) return;
    try {
      await request('DELETE', `/api/keys/${encodeURIComponent(key.id)}`);
      bus.emit('toast', { text: `Clé « ${key.name} » révoquée.` });
      await refresh();
    } catch (error) {
      bus.emit('toast', { text: error.message, error: true });
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(form).entries());
    try {
      const created = await request('POST', '/api/keys', keyBody(values));
      secretBox.hidden = false;
      secretBox.querySelector('code').textContent = created.secret;
      form.reset();
      await refresh();
    } catch (error) {
      bus.emit('toast', { text: error.message, error: true });
    }
  });

  refresh();
  return { refresh };
}
