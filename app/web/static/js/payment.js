// @ts-check
/* One purchase in progress, shown in the paywall dialog: its status, the Kaspi
 * QR code (desktop) or link (phone), Cancel, Check now, Start again, Publish now. */
import { api, errorCode } from "./api.js";
import { planOfProduct, planTitle, product, productTitle } from "./catalog.js";
import { $, announce, showText } from "./dom.js";
import { errorText } from "./fielderrors.js";
import { formatDate, formatMoney, t } from "./i18n.js";
import { forget, remember, watchLate } from "./store.js";
import { FINAL_STATUSES, watchTransaction } from "./watch.js";

let shown = null; // {key, record, watcher, problem, linkTimer}
/** @type {Record<string, (...args: any[]) => any>} */
let hooks = { onSettled() {}, onPublishNow() {}, onStartAgain() {}, onOpenClub() {} };

export function initPayment(callbacks) {
  hooks = { ...hooks, ...callbacks };
  $("check-now").addEventListener("click", () => shown && shown.watcher && shown.watcher.checkNow());
  $("cancel-payment").addEventListener("click", cancel);
  $("publish-now").addEventListener("click", () => shown && hooks.onPublishNow(shown.record));
  $("start-again").addEventListener("click", () => shown && hooks.onStartAgain(shown.key));
  $("open-club").addEventListener("click", () => shown && hooks.onOpenClub(shown.record.clubId));
}

export function shownKey() { return shown ? shown.key : null; }

export function shownRecord() { return shown ? shown.record : null; }

/* The state the page shows: the server's status, except that a pending payment
 * whose Kaspi link has run out is over for the buyer already. */
export function displayState(record) {
  if (record.status === "pending" && record.link_expires_at &&
      Date.parse(record.link_expires_at) <= Date.now()) return "link-expired";
  return record.status || "pending";
}

export function startWatching(key, record) {
  stopWatching();
  shown = { key, record, watcher: null, problem: null, linkTimer: null };
  render();
  if (FINAL_STATUSES.has(record.status)) {
    // Settled while the dialog was closed (follow.js): shown now, so no longer in progress.
    forget(key);
    return;
  }
  const current = shown;
  current.watcher = watchTransaction(record.transaction_id, {
    intervalS: record.poll_interval_s,
    onUpdate(body) {
      if (shown !== current) return;
      const before = displayState(current.record);
      current.problem = null;
      current.record = update(current.record, body);
      if (FINAL_STATUSES.has(body.status)) forget(key);
      else remember(key, current.record);
      render();
      const after = displayState(current.record);
      if (after !== before) {
        announce(t("state." + after + ".title"));
        if (FINAL_STATUSES.has(body.status)) hooks.onSettled(current.record);
      }
    },
    onProblem(info) {
      if (shown !== current) return;
      // Said once; the countdown itself is not read out every second.
      if (!current.problem) announce(t(info.unreachable ? "problem.unreachable" : "problem.failing", { n: info.secondsLeft }));
      current.problem = info;
      render();
    },
    onGone() {
      if (shown !== current) return;
      forget(key);
      current.record = { ...current.record, status: "gone" };
      render();
    },
  });
}

export function stopWatching() {
  if (!shown) return;
  if (shown.watcher) shown.watcher.stop();
  window.clearTimeout(shown.linkTimer);
  shown = null;
}

/** @param {import("../../api-types").TransactionStatusOut} body */
export function update(record, body) {
  const payment = body.payment || /** @type {Partial<NonNullable<typeof body.payment>>} */ ({});
  return {
    ...record,
    status: body.status,
    settled_at: body.settled_at || record.settled_at || null,
    link_expires_at: payment.expires_at || record.link_expires_at || null,
    payment_url: payment.payment_url || record.payment_url,
    payment_id: payment.payment_id || record.payment_id,
  };
}

export function describe(record) {
  const planRow = planOfProduct(record.product_code);
  if (planRow) return t("what.plan", { plan: planTitle(planRow), club: record.clubName || "" });
  const p = product(record.product_code);
  return p ? productTitle(p) : record.product_code;
}

function render() {
  const { record, problem } = shown;
  const state = displayState(record);
  $("paywall-choose").hidden = true;
  $("paywall-progress").hidden = false;
  const box = $("payment-status");
  box.setAttribute("data-state", state);
  $("payment-status-title").textContent = t("state." + state + ".title");
  const planRow = planOfProduct(record.product_code);
  const detailKey = state === "completed" && planRow ? "state.completed.plan"
    : state === "completed" && record.eventId ? "state.completed.event"
      : state === "canceled" && record.link_closed === true ? "state.canceled.closed"
        : state === "canceled" && record.link_closed === false ? "state.canceled.open"
          : "state." + state + ".detail";
  $("payment-status-detail").textContent = t(detailKey, {
    plan: planTitle(planRow), club: record.clubName || "",
  });
  const problemBox = $("payment-problem");
  problemBox.hidden = !problem || state !== "pending";
  if (problem) {
    $("payment-problem-text").textContent = t(
      problem.unreachable ? "problem.unreachable" : "problem.failing", { n: problem.secondsLeft });
  }
  $("payment-what").textContent = describe(record);
  $("payment-amount").textContent = formatMoney(record.amount);
  $("payment-id").textContent = record.payment_id || "—";
  const canPay = state === "pending" && !!record.payment_url;
  $("payment-pay").hidden = !canPay;
  if (canPay) {
    $("payment-link").href = record.payment_url;
    const src = "/web/qr.svg?text=" + encodeURIComponent(record.payment_url);
    if ($("payment-qr").getAttribute("src") !== src) $("payment-qr").setAttribute("src", src);
    $("payment-link-expiry").textContent = record.link_expires_at
      ? t("pay.until", { time: formatDate(record.link_expires_at, true) }) : "";
    scheduleLinkExpiry(record);
  }
  $("cancel-payment").hidden = state !== "pending";
  $("publish-now").hidden = !(state === "completed" && record.eventId);
  $("publish-now").textContent = t(typeof record.resize === "number" ? "pay.applySize" : "pay.publishNow");
  $("open-club").hidden = !(state === "completed" && planRow && record.clubId && !record.eventId);
  $("start-again").hidden = !["link-expired", "failed", "expired", "canceled", "gone"].includes(state);
  const forPlan = !!planRow && !record.eventId;
  const titleKey = forPlan ? "paywall.titlePlan" : typeof record.resize === "number" ? "paywall.titleEnlarge" : "paywall.title";
  $("paywall-title").textContent = t(state === "completed" ? "paywall.paid" : titleKey);
  // Once paid, the reason to buy is no longer news: the status says what comes next.
  $("paywall-message").hidden = state === "completed";
}

/* The link runs out at a known time: say so then, without waiting for a poll. */
function scheduleLinkExpiry(record) {
  window.clearTimeout(shown.linkTimer);
  if (!record.link_expires_at) return;
  const ms = Date.parse(record.link_expires_at) - Date.now();
  if (ms > 0 && ms < 2 ** 31 - 1) {
    const current = shown;
    shown.linkTimer = window.setTimeout(() => { if (shown === current) render(); }, ms + 50);
  }
}

async function cancel() {
  if (!shown) return;
  const current = shown;
  const button = $("cancel-payment");
  button.disabled = true;
  showText($("paywall-error"), "");
  const res = await api("POST", "/api/billing/transactions/" +
    encodeURIComponent(current.record.transaction_id) + "/cancel");
  button.disabled = false;
  if (shown !== current) return;
  if (res.status === 200 && res.data) {
    current.record = { ...update(current.record, res.data), link_closed: res.data.link_closed };
    if (current.watcher) current.watcher.stop();
    forget(current.key);
    // Kaspi could not close the link: a payment made there anyway is late money,
    // settled by the server's sweep; the page looks for its outcome (store.js).
    if (res.data.status === "canceled" && res.data.link_closed === false) watchLate(current.record);
    render();
    announce(t("state." + displayState(current.record) + ".title"));
    if (res.data.status === "completed") hooks.onSettled(current.record);
    $("payment-status").focus();
    return;
  }
  if (errorCode(res) === "TRANSACTION_NOT_PENDING") {
    // It settled meanwhile: the status says how.
    if (current.watcher) current.watcher.checkNow();
    showText($("paywall-error"), t("error.TRANSACTION_NOT_PENDING"));
    return;
  }
  showText($("paywall-error"), errorText(res, "error.cancel"));
}

export function rerender() { if (shown) render(); }
