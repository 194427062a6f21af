// The analytics panel's two daily charts (Chart.js, loaded by index.html as window.Chart).
import { barOptions, chartUnavailable } from './chart.js';
import { formatCost } from './format.js';

const AXIS = '#374151';

function dayLabel(day) {
  const [, month, date] = day.split('-');
  return `${date}/${month}`;
}

export function createDailyCharts(tokensCanvas, requestsCanvas) {
  const ChartJs = globalThis.Chart;
  if (!ChartJs) {
    chartUnavailable(tokensCanvas);
    chartUnavailable(requestsCanvas);
    return { update() {} };
  }
  const tokens = new ChartJs(tokensCanvas, {
    type: 'bar',
    data: {
      labels: [],
      datasets: [
        { label: 'Prompt', data: [], backgroundColor: '#2563eb', stack: 'envoyés' },
        { label: 'Complétion', data: [], backgroundColor: '#c2410c', stack: 'envoyés' },
        { label: 'Économisés', data: [], backgroundColor: '#15803d', stack: 'économisés' },
      ],
    },
    options: barOptions('tokens par jour', { maxTicks: 10 }),
  });
  const requests = new ChartJs(requestsCanvas, {
    type: 'bar',
    data: {
      labels: [],
      datasets: [
        { label: 'Réussies', data: [], backgroundColor: '#1d4ed8', stack: 'requêtes' },
        { label: 'En erreur', data: [], backgroundColor: '#b91c1c', stack: 'requêtes' },
        {
          label: 'Coût ($)', data: [], type: 'line', yAxisID: 'cost', borderColor: '#854d0e',
          backgroundColor: '#854d0e', pointRadius: 2,
        },
      ],
    },
    options: barOptions('requêtes par jour', {
      maxTicks: 10,
      extraScales: {
        cost: {
          position: 'right', beginAtZero: true, grid: { drawOnChartArea: false },
          ticks: { color: AXIS, callback: (v) => formatCost(v) },
          title: { display: true, text: 'coût', color: AXIS },
        },
      },
    }),
  });
  return {
    update(days) {
      const labels = days.map((d) => dayLabel(d.day));
      tokens.data.labels = labels;
      tokens.data.datasets[0].data = days.map((d) => d.prompt_tokens);
      tokens.data.datasets[1].data = days.map((d) => d.completion_tokens);
      tokens.data.datasets[2].data = days.map((d) => d.tokens_saved);
      requests.data.labels = labels;
      requests.data.datasets[0].data = days.map((d) => d.requests - d.errors);
      requests.data.datasets[1].data = days.map((d) => d.errors);
      requests.data.datasets[2].data = days.map((d) => d.cost);
      tokens.update('none');
      requests.update('none');
    },
  };
}
