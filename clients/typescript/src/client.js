// @ts-check
/* The typed fetch wrapper's code: its types are in client.d.ts (beside it). Every
 * request has a timeout and a Bearer token when one is given; every answer is
 * `{ok, status, data | error, headers}`, the error being the API's envelope
 * `{"error": {"code", "message"}}` (a non-JSON failure, e.g. from a proxy, becomes
 * code HTTP_<status>). A network failure or a timeout rejects, as fetch does. */

const METHODS = /** @type {const} */ (["get", "post", "put", "patch", "delete"]);

/**
 * @param {string} template e.g. `/api/billing/transactions/{transaction_id}`
 * @param {Record<string, unknown> | undefined} values
 */
function fillPath(template, values) {
  return template.replace(/\{([^}]+)\}/g, (_, name) => {
    const value = values && values[name];
    if (value === undefined || value === null) throw new TypeError(`missing path parameter ${name}`);
    return encodeURIComponent(String(value));
  });
}

/** @param {Record<string, unknown> | undefined} query */
function queryString(query) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null) params.append(name, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

/** @param {import("./client.js").ClientOptions} options */
export function createBillingClient(options) {
  const base = options.baseUrl.replace(/\/+$/, "");
  const doFetch = options.fetch || globalThis.fetch;
  const defaultTimeout = options.timeoutMs || 10000;

  /**
   * @param {string} method
   * @param {string} path
   * @param {{path?: any, query?: any, headers?: any, body?: unknown, timeoutMs?: number}} [request]
   */
  async function send(method, path, request) {
    const opts = request || {};
    /** @type {Record<string, string>} */
    const headers = { Accept: "application/json", ...(opts.headers || {}) };
    const token = typeof options.token === "function" ? options.token() : options.token;
    if (token) headers.Authorization = `Bearer ${token}`;
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    const response = await doFetch(base + fillPath(path, opts.path) + queryString(opts.query), {
      method: method.toUpperCase(),
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: AbortSignal.timeout(opts.timeoutMs || defaultTimeout),
    });
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (response.ok) return { ok: true, status: response.status, data, headers: response.headers };
    const error =
      data && data.error && typeof data.error.code === "string"
        ? data.error
        : { code: `HTTP_${response.status}`, message: text.slice(0, 200) || response.statusText };
    return { ok: false, status: response.status, error, headers: response.headers };
  }

  /** @type {Record<string, Function>} */
  const client = {};
  for (const method of METHODS) {
    client[method] = (/** @type {string} */ path, /** @type {any} */ request) => send(method, path, request);
  }
  return /** @type {import("./client.js").BillingClient} */ (/** @type {unknown} */ (client));
}
