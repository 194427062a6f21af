// The « Toutes sessions » line (#global-totals) from GET /api/stats: on every reload,
// every recorded request, and when asked ('stats:refresh', once the session list changed).
import { api } from './api.js';
import { formatCost, formatInt } from './format.js';
import { coalesce } from './window.js';

export function createGlobalTotalsPanel({ bus }) {
  const line = document.getElementById('global-totals');
  const fail = (error) => bus.emit('toast', { text: error.message, error: true });

  const refresh = coalesce(async () => {
    const stats = await api.stats();
    const t = stats.totals;
    line.textContent = `Toutes sessions : ${formatInt(stats.sessions)} session(s), `
      + `${formatInt(t.requests)} requête(s), ${formatInt(t.total_tokens)} tokens, ${formatCost(t.cost)}.`;
  });

  bus.on('dashboard:refresh', ({ wait }) => wait(refresh()));
  bus.on('stats:refresh', () => refresh().catch(fail));
  bus.on('ws:event', (event) => {
    if (event.type === 'metric') refresh().catch(fail);
  });
}
