// Context gauge: the colour logic is pure (tested with node), the rendering is small.
import { formatInt, formatPercent } from './format.js';

// vert below the first threshold, jaune from the first, rouge from the second
// (or from the first when only one threshold is configured).
export function gaugeColour(ratio, thresholds) {
  const sorted = [...(thresholds ?? [])].filter(Number.isFinite).sort((a, b) => a - b);
  if (!Number.isFinite(ratio) || sorted.length === 0) return 'vert';
  const reached = sorted.filter((t) => ratio >= t).length;
  if (reached === 0) return 'vert';
  if (sorted.length === 1 || reached >= 2) return 'rouge';
  return 'jaune';
}

export function gaugeWidth(ratio) {
  if (!Number.isFinite(ratio) || ratio <= 0) return 0;
  return Math.min(100, ratio * 100);
}

const COLOUR_NAMES = { vert: 'normal', jaune: 'attention', rouge: 'critique' };

export function renderGauge(elements, gauge) {
  const { root, fill, text, detail, meter } = elements;
  const ratio = gauge?.ratio;
  const colour = gaugeColour(ratio, gauge?.thresholds);
  root.dataset.colour = colour;
  const width = gaugeWidth(ratio);
  fill.style.width = `${width}%`;
  meter.setAttribute('aria-valuenow', String(Math.round(width)));
  if (!gauge || !Number.isFinite(ratio)) {
    text.textContent = '—';
    detail.textContent = gauge?.max_context ? '' : 'Fenêtre de contexte du modèle inconnue.';
    meter.setAttribute('aria-valuetext', 'inconnu');
    return;
  }
  text.textContent = `${formatPercent(ratio)} — ${COLOUR_NAMES[colour]}`;
  meter.setAttribute('aria-valuetext', `${formatPercent(ratio)}, ${COLOUR_NAMES[colour]}`);
  const seuils = (gauge.thresholds ?? []).map(formatPercent).join(', ');
  detail.textContent = `${formatInt(gauge.prompt_tokens)} / ${formatInt(gauge.max_context)} tokens `
    + `(dernier prompt) · seuils : ${seuils}`;
}
