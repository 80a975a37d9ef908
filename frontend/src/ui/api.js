/**
 * Calls to the webide JSON API: CSRF header, same-origin cookies, and one response shape for every outcome.
 */

/** Error thrown by `request` for non-2xx answers and network failures (status 0). */
export class ApiError extends Error {
  constructor(status, message, data) {
    super(message);
    this.status = status;
    this.data = data;
  }
}

/**
 * JSON calls with the page's CSRF token: `send` resolves {status, data} for every HTTP answer (status 0 when the
 * server is unreachable); `request` throws ApiError unless the answer is 2xx and resolves the JSON body.
 */
export function createSender(csrfToken) {
  async function send(method, url, body) {
    const headers = { Accept: 'application/json', 'X-CSRFToken': csrfToken };
    let payload;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, { method, headers, body: payload, credentials: 'same-origin' });
    } catch (error) {
      return { status: 0, data: { success: false, error: `server unreachable (${error.message})` } };
    }
    return { status: response.status, data: await readJson(response) };
  }

  async function request(method, url, body) {
    const { status, data } = await send(method, url, body);
    if (status >= 200 && status < 300) return data;
    throw new ApiError(status, data?.error || `HTTP ${status}`, data);
  }

  return { send, request };
}

export function createApi(productId, csrfToken) {
  const device = `/api/devices/${encodeURIComponent(productId)}`;
  const { send, request } = createSender(csrfToken);

  return {
    send,
    getSketch: () => request('GET', `${device}/sketch`),
    putSketch: (payload) => send('PUT', `${device}/sketch`, payload),
    revisions: () => request('GET', `${device}/sketch/revisions`),
    revision: (number) => request('GET', `${device}/sketch/revisions/${number}`),
    restoreRevision: (number) => request('POST', `${device}/sketch/revisions/${number}/restore`),
    handedOutStarter: () => request('GET', `${device}/sketch/starter`),
    importSketch: (file) => {
      const form = new FormData();
      form.append('file', file);
      return request('POST', `${device}/sketch/import`, form);
    },
    zipUrl: `${device}/sketch.zip`,
    example: (id) => request('GET', `/api/examples/${encodeURIComponent(id)}`),
    format: (name, content) => request('POST', `${device}/format`, { name, content }),
    startBuild: (deploy) => request('POST', `${device}/builds`, { deploy }),
    cancelBuild: (updateId) => request('POST', `/api/builds/${encodeURIComponent(updateId)}/cancel`),
    build: (updateId) => request('GET', `/api/builds/${encodeURIComponent(updateId)}`),
    device: () => request('GET', device),
    setBoard: (fqbn) => request('PATCH', device, { fqbn }),
    wifi: () => request('GET', `${device}/wifi`),
    sendCommand: (command, args) => request('POST', `${device}/commands`, { command, args }),
    setWifi: (ssid, password) => request('PUT', `${device}/wifi`, { ssid, password }),
    // Sent only after the person agreed that the bot must be flashed again (the server asks a bot to confirm).
    provisioningKit: () => download('POST', `${device}/provisioning`, csrfToken, { confirm_reflash: true }),
  };
}

/**
 * Fetch a file the server makes on request (e.g. a POST that issues a new token); resolves {blob, filename,
 * headers}, throws ApiError with the server's message otherwise.
 */
async function download(method, url, csrfToken, body = undefined) {
  const headers = { 'X-CSRFToken': csrfToken };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(url, {
      method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, `server unreachable (${error.message})`, null);
  }
  if (!response.ok) {
    const data = await readJson(response);
    throw new ApiError(response.status, data?.error || `HTTP ${response.status}`, data);
  }
  const disposition = response.headers.get('Content-Disposition') || '';
  const filename = /filename="?([^";]+)"?/.exec(disposition)?.[1] || 'download';
  return { blob: await response.blob(), filename, headers: response.headers };
}

async function readJson(response) {
  const text = await response.text();
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    return { success: false, error: `HTTP ${response.status}: unexpected answer from the server` };
  }
}
