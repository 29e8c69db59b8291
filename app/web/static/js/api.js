// @ts-check
/* The JSON API: every request has a timeout (AbortController), a Bearer token
 * and one answer shape: {status, ok, data, headers, networkError, timedOut}.
 * A request that cannot reach the server answers status 0 with networkError. */

// A page may keep its token apart (the operator console: data-token-key on <body>),
// so signing in there does not sign the buyer's page in as an operator.
const TOKEN_KEY = (document.body && document.body.dataset.tokenKey) || "billing.web.token";
const params = new URLSearchParams(window.location.search);
// ?timeout_ms= shortens the timeout (tests freeze the API and wait for it).
const TIMEOUT_MS = Math.max(200, parseInt(params.get("timeout_ms") || "10000", 10) || 10000);

const session = { token: null, userId: null, name: null, onUnauthenticated: null };

export function currentUser() { return session.userId; }

/* For requests made outside api(): the status stream (stream.js). */
export function currentToken() { return session.token; }

export function setToken(token) {
  session.token = token;
  const claims = decodeClaims(token);
  session.userId = claims.sub || null;
  session.name = claims.name || null;
  try {
    if (token) window.localStorage.setItem(TOKEN_KEY, token);
    else window.localStorage.removeItem(TOKEN_KEY);
  } catch (e) { /* private mode: signed in for this page only */ }
}

export function savedToken() {
  try { return window.localStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
}

export function onUnauthenticated(fn) { session.onUnauthenticated = fn; }

function decodeClaims(token) {
  try {
    let payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    while (payload.length % 4) payload += "=";
    return JSON.parse(window.atob(payload)) || {};
  } catch (e) {
    return {};
  }
}

export async function api(method, path, options) {
  const opts = options || {};
  const headers = { Accept: "application/json" };
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  if (opts.auth !== false && session.token) headers.Authorization = "Bearer " + session.token;
  Object.assign(headers, opts.headers || {});
  const controller = new AbortController();
  const timer = window.setTimeout(() => controller.abort(), opts.timeoutMs || TIMEOUT_MS);
  try {
    const response = await window.fetch(path, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      cache: "no-store",
      credentials: "omit",
      signal: controller.signal,
    });
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    const res = { status: response.status, ok: response.ok, data, headers: response.headers };
    if (res.status === 401 && opts.auth !== false && session.onUnauthenticated) {
      session.onUnauthenticated();
    }
    return res;
  } catch (e) {
    return {
      status: 0, ok: false, data: null, headers: new Headers(),
      networkError: true, timedOut: controller.signal.aborted,
    };
  } finally {
    window.clearTimeout(timer);
  }
}

export function errorCode(res) {
  return res.data && res.data.error ? res.data.error.code : null;
}

/* No answer from the API itself: the network, a timeout, or a gateway in front of it. */
export function isUnreachable(res) {
  return !!res.networkError || [502, 503, 504].includes(res.status);
}
