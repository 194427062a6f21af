// The /ws connection: reconnects by itself with capped backoff and reports its state
// on the bus ('ws:open', 'ws:lost', 'ws:event').
import { apiToken } from './api.js';

export function reconnectDelay(attempt) {
  return Math.min(5000, 250 * 2 ** Math.max(0, attempt));
}

// The key never goes in the URL (access logs keep URLs): it is the first message.
export function socketUrl(location) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws`;
}

export function authMessage(token) {
  return token ? JSON.stringify({ type: 'auth', token }) : null;
}

export function connectSocket(bus, { location = window.location } = {}) {
  let attempt = 0;
  let socket = null;
  let timer = null;
  let everOpened = false;

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(open, reconnectDelay(attempt));
    attempt += 1;
  }

  function open() {
    socket = new WebSocket(socketUrl(location));
    socket.addEventListener('open', () => {
      const auth = authMessage(apiToken());
      if (auth) socket.send(auth);
      attempt = 0;
      bus.emit('ws:open', { reconnected: everOpened });
      everOpened = true;
    });
    socket.addEventListener('message', (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        console.warn('Trame WebSocket illisible ignorée.');
        return;
      }
      if (event && typeof event.type === 'string') bus.emit('ws:event', event);
    });
    socket.addEventListener('close', () => {
      bus.emit('ws:lost', { attempt });
      schedule();
    });
  }

  open();
  return {
    close() {
      clearTimeout(timer);
      socket?.close();
    },
  };
}
