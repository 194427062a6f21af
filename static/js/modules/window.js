// The bounded window of requests the page keeps: newest first, no duplicates, at most `cap`.

export const LOG_CAP = 500;
export const CHART_WINDOW = 120;

// Merge rows (live or paged) into the window. Rows without an id are dropped:
// they cannot be ordered or deduplicated.
export function mergeRequests(current, incoming, cap = LOG_CAP) {
  const byId = new Map();
  for (const row of current) byId.set(row.id, row);
  for (const row of incoming) {
    if (Number.isInteger(row?.id)) byId.set(row.id, row);
  }
  const merged = [...byId.values()].sort((a, b) => b.id - a.id);
  return { rows: merged.slice(0, cap), dropped: Math.max(0, merged.length - cap) };
}

// Oldest-first slice for the chart: the `size` newest rows.
export function chartSeries(rows, size = CHART_WINDOW) {
  const slice = rows.slice(0, size).reverse();
  return {
    labels: slice.map((r) => `n° ${r.id}`),
    prompt: slice.map((r) => r.prompt_tokens ?? 0),
    completion: slice.map((r) => r.completion_tokens ?? 0),
  };
}

export function oldestId(rows) {
  return rows.length ? rows[rows.length - 1].id : null;
}

// Run `fn` at most once per animation frame, however often it is asked for.
export function frameThrottle(fn, schedule = (cb) => requestAnimationFrame(cb)) {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    schedule(() => {
      queued = false;
      fn();
    });
  };
}

// Refetch helper: one call in flight, one more queued if asked meanwhile.
export function coalesce(task) {
  let running = null;
  let again = false;
  const run = async () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await task();
        } while (again);
      } finally {
        running = null;
      }
    })();
    return running;
  };
  return run;
}
