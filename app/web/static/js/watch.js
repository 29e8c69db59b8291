/* Watching one transaction until it settles.
 *
 * watchTransaction() is the one place that learns a transaction's status. It
 * polls GET /api/billing/transactions/<id> now; a push stream (Server-Sent
 * Events) can replace the loop inside it without any caller changing, as long
 * as it calls the same three callbacks:
 *   onUpdate(body)      every status body the server sends;
 *   onProblem(info)     the server can't be reached: {secondsLeft, timedOut},
 *                       called every second while the retry counts down;
 *   onGone()            the transaction is not (or no longer) ours to see.
 * It returns {stop(), checkNow()}.
 *
 * Where the page has a stream (<body data-stream-url>), the status comes from
 * GET /api/billing/transactions/<id>/events (stream.js), and the polling loop
 * below only takes over when the stream cannot be used.
 */
import { api, currentToken, isUnreachable } from "./api.js";
import { streamSupported, streamTransaction } from "./stream.js";

export const FINAL_STATUSES = new Set([
  "completed", "failed", "expired", "canceled", "refunded", "partially_refunded",
]);
const MAX_BACKOFF_MS = 30000;
const PROBE_EVERY_TICKS = 3;

const params = new URLSearchParams(window.location.search);
// ?poll_ms= may only make polling faster than the API's interval (tests use it).
const pollOverride = parseInt(params.get("poll_ms") || "", 10);

export function pollDelayMs(intervalS) {
  const apiMs = Math.max(1, intervalS || 5) * 1000;
  return pollOverride > 0 ? Math.min(Math.max(50, pollOverride), apiMs) : apiMs;
}

export function watchTransaction(txId, options) {
  const streamUrl = document.body.dataset.streamUrl;
  if (!streamUrl || !streamSupported()) return pollTransaction(txId, options);
  return streamTransaction(txId, {
    streamUrl,
    token: currentToken(),
    onUpdate: options.onUpdate,
    onProblem: options.onProblem,
    onGone: options.onGone,
    fallback: () => pollTransaction(txId, options),
  });
}

function pollTransaction(txId, { intervalS, onUpdate, onProblem, onGone }) {
  let stopped = false;
  let timer = null;
  let ticker = null;
  let failures = 0;
  let interval = intervalS;
  let inFlight = false;

  function clearTimers() {
    window.clearTimeout(timer);
    window.clearInterval(ticker);
    timer = null;
    ticker = null;
  }

  function schedule(ms) {
    clearTimers();
    if (!stopped) timer = window.setTimeout(() => check(false), ms);
  }

  async function check(manual) {
    clearTimers();
    if (stopped || inFlight) return;
    inFlight = true;
    const res = await api("GET", "/api/billing/transactions/" + encodeURIComponent(txId));
    inFlight = false;
    if (stopped) return;
    if (res.status === 200 && res.data) {
      failures = 0;
      if (res.data.poll_interval_s) interval = res.data.poll_interval_s;
      onUpdate(res.data);
      if (FINAL_STATUSES.has(res.data.status)) stop();
      else schedule(pollDelayMs(interval));
      return;
    }
    if (res.status === 404) {
      stop();
      onGone();
      return;
    }
    if (res.status === 401) {
      stop();
      return;
    }
    // Unreachable or failing: back off, and count the wait down where people see it.
    // A buyer's "Check now" that fails too does not lengthen the wait.
    if (!manual || failures === 0) failures += 1;
    const wait = Math.min(pollDelayMs(interval) * 2 ** failures, MAX_BACKOFF_MS);
    const retryAt = Date.now() + Math.max(wait, 1000);
    const report = () => onProblem({
      secondsLeft: Math.max(0, Math.ceil((retryAt - Date.now()) / 1000)),
      timedOut: !!res.timedOut,
      unreachable: isUnreachable(res),
    });
    report();
    schedule(retryAt - Date.now());
    let ticks = 0;
    ticker = window.setInterval(() => {
      report();
      ticks += 1;
      if (ticks % PROBE_EVERY_TICKS === 0) probe();
    }, 1000);
  }

  // While backing off, a cheap liveness probe notices the server is back at once.
  let probing = false;
  async function probe() {
    if (probing || stopped || inFlight) return;
    probing = true;
    const res = await api("GET", "/healthz", { auth: false, timeoutMs: 2000 });
    probing = false;
    if (!stopped && !inFlight && ticker && res.status === 200) check(false);
  }

  function stop() {
    stopped = true;
    clearTimers();
  }

  schedule(0);
  return { stop, checkNow: () => { if (!stopped) check(true); } };
}
