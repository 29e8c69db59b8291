// @ts-check
/* Following one transaction over Server-Sent Events, with polling as the fallback.
 *
 * EventSource cannot send an Authorization header, so the stream is read with
 * fetch() and a ReadableStream, parsed here (event / id / data / retry lines,
 * blank-line separated, comments ignored). It keeps watch.js's contract:
 *   streamTransaction(txId, {streamUrl, token, onUpdate, onProblem, onGone,
 *                            fallback})  ->  {stop(), checkNow(), mode()}
 * onUpdate(body) gets every status body (the same JSON as
 * GET /api/billing/transactions/<id>); onGone() a 404; fallback() is called
 * once, when the stream cannot be used (no ReadableStream, the stream endpoint
 * missing or failing twice in a row), and must return a polling watcher
 * ({stop, checkNow}) that takes over.
 *
 * The server ends a stream after a final status, or after its maximum
 * duration with a `retry:` hint: the client then reconnects with
 * Last-Event-ID, and the first event is always the current state, so nothing
 * that changed in between is lost.
 */

export const FINAL = new Set(["completed", "failed", "expired", "canceled", "refunded"]);
const DEFAULT_RETRY_MS = 1000;
const MAX_FAILURES = 2;

export function streamSupported() {
  return typeof window.fetch === "function" && typeof window.ReadableStream === "function"
    && typeof window.TextDecoder === "function" && typeof window.AbortController === "function";
}

/* Feed text in; get back complete events ({event, id, data, retry}). */
export function sseParser() {
  let buffer = "";
  let current = { event: "message", id: null, data: [], retry: null };
  let touched = false;
  return function feed(text) {
    buffer += text;
    const out = [];
    let nl;
    while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + (buffer.startsWith("\r\n", nl) ? 2 : 1));
      if (line === "") {
        if (touched) out.push({ ...current, data: current.data.join("\n") });
        current = { event: "message", id: null, data: [], retry: null };
        touched = false;
        continue;
      }
      if (line.startsWith(":")) continue; // a comment: the server's heartbeat
      const colon = line.indexOf(":");
      const name = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      touched = true;
      if (name === "event") current.event = value;
      else if (name === "id") current.id = value;
      else if (name === "data") current.data.push(value);
      else if (name === "retry" && /^\d+$/.test(value)) current.retry = parseInt(value, 10);
    }
    return out;
  };
}

export function streamTransaction(txId, { streamUrl, token, onUpdate, onProblem, onGone, fallback }) {
  let stopped = false;
  let controller = null;
  let lastEventId = null;
  let retryMs = DEFAULT_RETRY_MS;
  let failures = 0;
  let timer = null;
  let poller = null;
  let finished = false;
  let generation = 0; // a newer connection makes an older one's callbacks moot
  const base = (streamUrl || "").replace(/\/$/, "");
  const url = base + "/api/billing/transactions/" + encodeURIComponent(txId) + "/events";

  function toPolling() {
    if (stopped || poller) return;
    if (controller) controller.abort();
    poller = fallback();
  }

  async function connect() {
    if (stopped || poller) return;
    const mine = ++generation;
    const current = () => !stopped && !poller && mine === generation;
    controller = new AbortController();
    const headers = { Accept: "text/event-stream" };
    if (token) headers.Authorization = "Bearer " + token;
    if (lastEventId !== null) headers["Last-Event-ID"] = lastEventId;
    let response;
    try {
      response = await window.fetch(url, {
        headers, cache: "no-store", credentials: "omit", signal: controller.signal,
      });
    } catch (e) {
      if (current()) failed();
      return;
    }
    if (!current()) return;
    if (response.status === 404) {
      stopped = true;
      onGone();
      return;
    }
    if (response.status === 401) {
      stopped = true;
      return;
    }
    const type = response.headers.get("Content-Type") || "";
    if (response.status !== 200 || !type.startsWith("text/event-stream") || !response.body) {
      return failed();
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const feed = sseParser();
    let got = false;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done || !current()) break;
        for (const ev of feed(decoder.decode(value, { stream: true }))) {
          if (ev.retry !== null) retryMs = ev.retry;
          if (ev.event !== "status" || !ev.data) continue;
          let body;
          try { body = JSON.parse(ev.data); } catch (e) { continue; }
          got = true;
          failures = 0;
          if (ev.id !== null) lastEventId = ev.id;
          onUpdate(body);
          if (FINAL.has(body.status)) finished = true;
        }
      }
    } catch (e) {
      if (!current()) return;
      if (!got) {
        failed();
        return;
      }
    }
    if (!current() || finished) return;
    // The server closed at its maximum duration (or a proxy cut us): come back.
    timer = window.setTimeout(connect, got ? retryMs : Math.max(retryMs, 1000));
  }

  function failed() {
    if (stopped) return;
    failures += 1;
    if (failures >= MAX_FAILURES) {
      toPolling();
      return;
    }
    if (onProblem) onProblem({ secondsLeft: Math.ceil(retryMs / 1000), timedOut: false, unreachable: true });
    timer = window.setTimeout(connect, retryMs);
  }

  function stop() {
    stopped = true;
    window.clearTimeout(timer);
    if (controller) controller.abort();
    if (poller) poller.stop();
  }

  function checkNow() {
    if (poller) { poller.checkNow(); return; }
    if (stopped || finished) return;
    // A fresh connection answers the state now.
    window.clearTimeout(timer);
    generation += 1;
    if (controller) controller.abort();
    connect();
  }

  if (!streamSupported()) toPolling();
  else connect();
  return { stop, checkNow, mode: () => (poller ? "polling" : "stream") };
}
