// A tiny publish/subscribe bus: modules talk through it instead of importing each other.

export function createBus() {
  const handlers = new Map();
  const bus = {
    on(type, handler) {
      if (!handlers.has(type)) handlers.set(type, new Set());
      handlers.get(type).add(handler);
      return () => handlers.get(type)?.delete(handler);
    },
    emit(type, payload) {
      for (const handler of [...(handlers.get(type) ?? [])]) {
        try {
          handler(payload);
        } catch (error) {
          // One broken panel must not stop the others from updating.
          console.error(`Erreur dans un abonné à « ${type} » :`, error);
        }
      }
    },
    // emit, with `wait(promise)` added to the payload for handlers that start work, then
    // settle when all that work is done (rejects with the first failure, as Promise.all).
    // The full reload uses it to know when every panel has its data.
    async gather(type, payload = {}) {
      const pending = [];
      bus.emit(type, { ...payload, wait: (promise) => { pending.push(promise); } });
      await Promise.all(pending);
    },
    count(type) {
      return handlers.get(type)?.size ?? 0;
    },
  };
  return bus;
}
