/* The page follows every open purchase, not only the one its dialog shows.
 *
 * A purchase left behind when the dialog closed (the banner's "Payments in
 * progress") is watched here with the same watcher as the dialog (watch.js:
 * the status stream, polling as its fallback): when it settles, its record in
 * store.js gets the new status, credits and clubs are read again, and the banner
 * says how it ended. The purchase the dialog shows is left to the dialog.
 *
 * Canceled purchases whose Kaspi link could not be closed (store.lateWatches)
 * are asked about now and then: a payment made on that link anyway is settled
 * by the server's late-payment sweep, and its outcome is told here as a notice.
 */
import { api } from "./api.js";
import { el } from "./dom.js";
import { formatMoney, t } from "./i18n.js";
import { describe, shownKey, update } from "./payment.js";
import { allPurchases, dropLate, forget, lateWatches, purchaseFor, remember } from "./store.js";
import { FINAL_STATUSES, pollDelayMs, watchTransaction } from "./watch.js";

const followers = new Map(); // key -> {txId, watcher}
const LATE_POLL_S = 30;
// A late payment ends in one of these; "canceled" means nothing came (yet).
const LATE_OUTCOMES = new Set(["completed", "refunded", "needs_review"]);
let lateTimer = null;
let hooks = { onSettled() {}, onChanged() {} };

export function initFollow(callbacks) {
  hooks = { ...hooks, ...callbacks };
}

/* Start following what is open and not shown; stop following what is gone. */
export function followAll() {
  // The dialog's purchase is the dialog's to watch, while it is open.
  const shown = document.getElementById("paywall").open ? shownKey() : null;
  const wanted = new Map(allPurchases()
    .filter((p) => p.key !== shown && !FINAL_STATUSES.has(p.status) && p.status !== "needs_review")
    .map((p) => [p.key, p]));
  for (const [key, f] of followers) {
    const want = wanted.get(key);
    if (!want || want.transaction_id !== f.txId) stopFollowing(key);
  }
  for (const [key, record] of wanted) if (!followers.has(key)) start(key, record);
  scheduleLate(false);
}

export function stopAll() {
  for (const key of [...followers.keys()]) stopFollowing(key);
  window.clearTimeout(lateTimer);
  lateTimer = null;
  const box = document.getElementById("late-notices");
  if (box) box.textContent = "";
}

/* How many purchases are followed in the background (tests read it). */
export function followed() { return [...followers.keys()]; }

function stopFollowing(key) {
  const f = followers.get(key);
  if (f) f.watcher.stop();
  followers.delete(key);
}

function start(key, record) {
  const txId = record.transaction_id;
  const watcher = watchTransaction(txId, {
    intervalS: record.poll_interval_s,
    onUpdate(body) {
      const current = purchaseFor(key);
      if (!current || current.transaction_id !== txId) return;
      const next = update(current, body);
      remember(key, next);
      if (FINAL_STATUSES.has(body.status) || body.status === "needs_review") {
        stopFollowing(key);
        hooks.onSettled(next);
      }
      if (next.status !== current.status || next.link_expires_at !== current.link_expires_at) hooks.onChanged();
    },
    onProblem() { /* the banner keeps the last known state; the watcher retries */ },
    onGone() {
      stopFollowing(key);
      forget(key);
      hooks.onChanged();
    },
  });
  followers.set(key, { txId, watcher });
}

// ------------------------------------------------------------------ late payments

function scheduleLate(now) {
  window.clearTimeout(lateTimer);
  lateTimer = null;
  if (!lateWatches().length) return;
  lateTimer = window.setTimeout(checkLate, now ? 0 : pollDelayMs(LATE_POLL_S));
}

async function checkLate() {
  for (const record of lateWatches()) {
    const res = await api("GET", "/api/billing/transactions/" + encodeURIComponent(record.transaction_id));
    if (res.status === 404) dropLate(record.transaction_id);
    if (res.status !== 200 || !res.data || !LATE_OUTCOMES.has(res.data.status)) continue;
    dropLate(record.transaction_id);
    showLateNotice({ ...record, status: res.data.status });
    hooks.onSettled({ ...record, status: res.data.status });
  }
  scheduleLate(false);
}

function showLateNotice(record) {
  const box = document.getElementById("late-notices");
  if (!box) return;
  const text = t("late." + record.status, { what: describe(record), amount: formatMoney(record.amount) });
  box.appendChild(el("p", { className: "notice", "data-late": record.status, text }));
  box.hidden = false;
}

/* Look for late outcomes now (after sign-in), then every LATE_POLL_S. */
export function checkLateNow() { scheduleLate(true); }
