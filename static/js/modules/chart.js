// Token history chart (Chart.js UMD loaded by index.html as window.Chart).
import { formatInt } from './format.js';

const AXIS = '#374151';

// No Chart.js (blocked or failed to load): a French line instead of the canvas.
export function chartUnavailable(canvas) {
  canvas.replaceWith(Object.assign(document.createElement('p'), {
    className: 'muted', textContent: 'Graphique indisponible (Chart.js non chargé).',
  }));
}

// Stacked bars, French numbers, integer ticks: the options every chart of the page shares.
export function barOptions(yTitle, { maxTicks = 8, extraScales = {}, tooltip } = {}) {
  return {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    locale: 'fr-FR',
    interaction: { mode: 'index', intersect: false },
    scales: {
      x: { stacked: true, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: maxTicks, color: AXIS } },
      y: {
        stacked: true,
        beginAtZero: true,
        ticks: { color: AXIS, precision: 0, callback: (value) => formatInt(value) },
        title: { display: true, text: yTitle, color: AXIS },
      },
      ...extraScales,
    },
    plugins: {
      legend: { labels: { color: '#111827' } },
      ...(tooltip ? { tooltip } : {}),
    },
  };
}

export function createTokenChart(canvas) {
  const ChartJs = globalThis.Chart;
  if (!ChartJs) {
    chartUnavailable(canvas);
    return { update() {} };
  }
  const chart = new ChartJs(canvas, {
    type: 'bar',
    data: {
      labels: [],
      datasets: [
        { label: 'Prompt', data: [], backgroundColor: '#2563eb', stack: 'tokens' },
        { label: 'Complétion', data: [], backgroundColor: '#c2410c', stack: 'tokens' },
      ],
    },
    options: barOptions('tokens', {
      tooltip: {
        callbacks: { label: (item) => `${item.dataset.label} : ${formatInt(item.parsed.y)}` },
      },
    }),
  });
  return {
    update(series) {
      chart.data.labels = series.labels;
      chart.data.datasets[0].data = series.prompt;
      chart.data.datasets[1].data = series.completion;
      chart.update('none');
    },
  };
}
