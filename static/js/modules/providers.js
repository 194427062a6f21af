// « Configuration incomplète » (#provider-warnings): providers whose key variable is
// unset, from GET /health. Also tells the other panels which models and providers the
// hub knows ('providers:known', for the analytics filters).
import { api } from './api.js';

export function createProvidersPanel({ bus }) {
  const box = document.getElementById('provider-warnings');
  const list = document.getElementById('provider-warning-list');

  async function refresh() {
    const [health, models] = await Promise.all([api.health(), api.models()]);
    const known = {
      providers: Object.keys(health?.providers ?? {}),
      models: (models?.data ?? []).map((m) => String(m.id)),
    };
    const warnings = Array.isArray(health?.warnings) ? health.warnings : [];
    list.replaceChildren(...warnings.map((text) => {
      const li = document.createElement('li');
      li.textContent = String(text);
      return li;
    }));
    box.hidden = warnings.length === 0;
    await bus.gather('providers:known', known); // the reload waits for what it starts
  }

  bus.on('dashboard:refresh', ({ wait }) => wait(refresh()));
}
