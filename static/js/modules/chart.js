// Token history chart (Chart.js UMD loaded by index.html as window.Chart).
import { formatInt } from './format.js';

export function createTokenChart(canvas) {
  const ChartJs = globalThis.Chart;
  if (!ChartJs) {
    canvas.replaceWith(Object.assign(document.createElement('p'), {
      className: 'muted', textContent: 'Graphique indisponible (Chart.js non chargé).',
    }));
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
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      locale: 'fr-FR',
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { stacked: true, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 8, color: '#374151' } },
        y: {
          stacked: true,
          beginAtZero: true,
          ticks: { color: '#374151', precision: 0, callback: (value) => formatInt(value) },
          title: { display: true, text: 'tokens', color: '#374151' },
        },
      },
      plugins: {
        legend: { labels: { color: '#111827' } },
        tooltip: {
          callbacks: { label: (item) => `${item.dataset.label} : ${formatInt(item.parsed.y)}` },
        },
      },
    },
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
