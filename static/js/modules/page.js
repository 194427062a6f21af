// The page as a whole: the connection state (#conn-state, #banner, greyed while stale),
// the full reload every panel answers through 'dashboard:refresh', the API key (prompt,
// export links) and the hub's alerts.
import { apiToken, downloadWithToken, setApiToken } from './api.js';

const $ = (id) => document.getElementById(id);

function askToken() {
  const token = window.prompt('Ce hub demande une clé API (KIMI_PROXY_API_KEY) :');
  if (token) {
    setApiToken(token.trim());
    window.location.reload();
  }
}

export function setupPage({ bus }) {
  // Each panel reloads its data (bus.gather waits for them all); a 401 asks for the key.
  async function refreshAll() {
    document.body.classList.add('loading');
    try {
      await bus.gather('dashboard:refresh');
      document.body.classList.remove('stale');
    } catch (error) {
      bus.emit('toast', { text: `Chargement impossible : ${error.message}`, error: true });
      if (error.status === 401) askToken();
    } finally {
      document.body.classList.remove('loading');
    }
  }

  bus.on('ws:open', ({ reconnected }) => {
    $('banner').hidden = true;
    $('conn-state').dataset.state = 'open';
    $('conn-state').textContent = 'Connecté — en direct';
    if (reconnected) refreshAll(); // events were missed while away: never show stale data
  });
  bus.on('ws:lost', () => {
    $('banner').hidden = false;
    $('conn-state').dataset.state = 'lost';
    $('conn-state').textContent = 'Déconnecté';
    document.body.classList.add('stale');
  });
  bus.on('ws:event', (event) => {
    if (event.type === 'alert' && event.message) {
      bus.emit('toast', { text: `Alerte : ${event.message}`, error: true });
    }
  });

  // A plain link cannot send the key: with one, the exports download through fetch.
  for (const link of document.querySelectorAll('a[href^="/api/export/"]')) {
    link.addEventListener('click', (event) => {
      if (!apiToken()) return; // no key: the plain link downloads by itself
      event.preventDefault();
      downloadWithToken(link.getAttribute('href'))
        .catch((e) => bus.emit('toast', { text: e.message, error: true }));
    });
  }

  return { refreshAll };
}
