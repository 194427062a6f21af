// Calls to the hub's REST API. Errors become ApiError with a French message.

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

const TOKEN_KEY = 'kimi-proxy-token';

export function apiToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return ''; // storage disabled: the hub then only works without an API key
  }
}

export function setApiToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

function headers(extra) {
  const result = { Accept: 'application/json', ...extra };
  const token = apiToken();
  if (token) result.Authorization = `Bearer ${token}`;
  return result;
}

async function errorFrom(response) {
  let message = `Le hub a répondu ${response.status}.`;
  try {
    const body = await response.json();
    if (body?.error?.message) message = body.error.message;
  } catch {
    // not JSON: keep the generic French message above
  }
  if (response.status === 401) message = 'Clé API requise ou invalide.';
  return new ApiError(message, response.status);
}

async function send(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: headers(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError('Hub injoignable.', 0);
  }
  if (!response.ok) throw await errorFrom(response);
  return response;
}

export async function request(method, path, body) {
  const response = await send(method, path, body);
  if (response.status === 204) return null;
  return response.json();
}

async function requestText(path) {
  return (await send('GET', path)).text();
}

function filenameOf(response, fallback) {
  const match = /filename="([^"]+)"/.exec(response.headers.get('Content-Disposition') ?? '');
  return match ? match[1] : fallback;
}

// A plain link cannot send the Authorization header: with an API key, exports are
// fetched with it and handed to the browser as a blob download.
export async function downloadWithToken(path) {
  let response;
  try {
    response = await fetch(path, { headers: headers({ Accept: '*/*' }), cache: 'no-store' });
  } catch {
    throw new ApiError('Hub injoignable.', 0);
  }
  if (!response.ok) throw await errorFrom(response);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = filenameOf(response, path.includes('json') ? 'export.json' : 'export.csv');
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export const api = {
  health: () => request('GET', '/health'),
  stats: () => request('GET', '/api/stats'),
  sessions: () => request('GET', '/api/sessions'),
  createSession: (name) => request('POST', '/api/sessions', { name, activate: true }),
  activateSession: (id) => request('POST', `/api/sessions/${id}/activate`),
  renameSession: (id, name) => request('PATCH', `/api/sessions/${id}`, { name }),
  setCompaction: (id, on) => request('PATCH', `/api/sessions/${id}`, { compaction: on }),
  deleteSession: (id) => request('DELETE', `/api/sessions/${id}`),
  metrics: (id, { limit = 100, before } = {}) => {
    const query = new URLSearchParams({ limit: String(limit) });
    if (before) query.set('before', String(before));
    return request('GET', `/api/sessions/${id}/metrics?${query}`);
  },
  analytics: (query) => request('GET', `/api/analytics?${query}`),
  searchRequests: (query) => request('GET', `/api/requests?${query}`),
  inspect: (id) => request('GET', `/api/requests/${encodeURIComponent(id)}`),
  mask: (hash) => requestText(`/api/mask/${encodeURIComponent(hash)}`),
  models: () => request('GET', '/models'),
  mcpServers: () => request('GET', '/api/mcp/servers'),
  restartMcp: (name) => request('POST', `/api/mcp/servers/${encodeURIComponent(name)}/restart`),
  compactionPreview: (id) => request('POST', `/api/sessions/${id}/compaction/preview`, {}),
  compactionApply: (id) => request('POST', `/api/sessions/${id}/compaction/apply`, {}),
  savings: (id) => request('GET', `/api/savings?session=${id}`),
};
