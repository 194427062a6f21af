// The toast (#toast): the one listener of the bus's 'toast' event. Panels emit
// { text, error } and never show a message themselves.
const SHOWN_MS = 6000;

export function setupToast({ bus }) {
  const el = document.getElementById('toast');
  let timer = null;
  bus.on('toast', ({ text, error = false }) => {
    el.textContent = text;
    el.dataset.kind = error ? 'error' : 'info';
    el.hidden = false;
    clearTimeout(timer);
    timer = setTimeout(() => { el.hidden = true; }, SHOWN_MS);
  });
}
