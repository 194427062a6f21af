// A tiny publish/subscribe bus: modules talk through it instead of importing each other.

export function createBus() {
  const handlers = new Map();
  return {
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
    count(type) {
      return handlers.get(type)?.size ?? 0;
    },
  };
}
