// Sessions panel: select (view), create, activate, rename, delete with confirmation.
// Draws the list it is sent on the bus ('sessions:list'), asks for changes with
// 'session:view' and 'sessions:refresh'.
import { api } from './api.js';
import { confirmDialog } from './dialog.js';
import { formatDate } from './format.js';

function button(text, action, extra = {}) {
  const el = document.createElement('button');
  el.type = 'button';
  el.textContent = text;
  el.dataset.action = action;
  Object.assign(el, extra);
  return el;
}

function sessionItem(session, viewedId) {
  const li = document.createElement('li');
  li.dataset.sessionId = String(session.id);
  li.className = session.id === viewedId ? 'selected' : '';
  const view = button('', 'view', { className: 'session-name' });
  view.setAttribute('aria-pressed', String(session.id === viewedId));
  const name = document.createElement('span');
  name.textContent = session.name;
  const meta = document.createElement('small');
  meta.textContent = `n° ${session.id} · ${formatDate(session.created_at)}`;
  view.append(name, meta);
  const actions = document.createElement('div');
  actions.className = 'session-actions';
  if (session.active) {
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.textContent = 'active';
    actions.append(badge);
  } else {
    actions.append(button('Activer', 'activate', { className: 'ghost small' }));
  }
  actions.append(
    button('Renommer', 'rename', { className: 'ghost small' }),
    button('Supprimer', 'delete', { className: 'ghost small danger-text' }),
  );
  li.append(view, actions);
  return li;
}

function renameForm(li, session, onDone) {
  const form = document.createElement('form');
  form.className = 'row';
  const input = document.createElement('input');
  input.value = session.name;
  input.maxLength = 200;
  input.setAttribute('aria-label', `Nouveau nom pour ${session.name}`);
  form.append(input, button('Enregistrer', 'save', { type: 'submit' }),
    button('Annuler', 'cancel', { className: 'ghost' }));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    onDone(input.value);
  });
  form.querySelector('[data-action=cancel]').addEventListener('click', () => onDone(null));
  li.replaceChildren(form);
  input.focus();
  input.select();
}

// The active session first, then the newest.
export function sortSessions(sessions) {
  return [...sessions].sort((a, b) => Number(b.active) - Number(a.active) || b.id - a.id);
}

export function createSessionsPanel({ bus }) {
  const list = document.getElementById('session-list');
  const form = document.getElementById('session-create');
  const dialog = document.getElementById('confirm-dialog');
  let sessions = [];
  let viewedId = null;

  function render() {
    list.replaceChildren(...sessions.map((s) => sessionItem(s, viewedId)));
    if (sessions.length === 0) {
      const li = document.createElement('li');
      li.className = 'muted';
      li.textContent = 'Aucune session.';
      list.append(li);
    }
  }

  async function act(promise, success) {
    try {
      await promise;
      if (success) bus.emit('toast', { text: success });
    } catch (error) {
      bus.emit('toast', { text: error.message, error: true });
    }
  }

  list.addEventListener('click', async (event) => {
    const target = event.target.closest('button[data-action]');
    const li = event.target.closest('li[data-session-id]');
    if (!target || !li) return;
    const session = sessions.find((s) => s.id === Number(li.dataset.sessionId));
    if (!session) return;
    const action = target.dataset.action;
    if (action === 'view') bus.emit('session:view', { id: session.id });
    if (action === 'activate') await act(api.activateSession(session.id), `Session « ${session.name} » activée.`);
    if (action === 'rename') {
      renameForm(li, session, async (name) => {
        if (name !== null) await act(api.renameSession(session.id, name), 'Session renommée.');
        bus.emit('sessions:refresh');
      });
    }
    if (action === 'delete') {
      const ok = await confirmDialog(dialog,
        `Supprimer la session « ${session.name} » ? Elle quitte la liste ; ses requêtes restent au journal (budgets, exports, statistiques).`);
      if (ok) await act(api.deleteSession(session.id), `Session « ${session.name} » supprimée.`);
    }
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = form.elements.name;
    const name = input.value.trim();
    try {
      const created = await api.createSession(name || null);
      input.value = '';
      bus.emit('toast', { text: `Session « ${created.name} » créée et activée.` });
      bus.emit('session:view', { id: created.id, follow: true });
    } catch (error) {
      bus.emit('toast', { text: error.message, error: true });
    }
  });

  bus.on('sessions:list', ({ sessions: next, viewedId: viewed }) => {
    sessions = sortSessions(next);
    viewedId = viewed;
    render();
  });
}
