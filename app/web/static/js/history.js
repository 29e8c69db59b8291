// @ts-check
/* Purchase history (GET /api/billing/transactions, cursor pages) and receipts. */
import { api } from "./api.js";
import { planOfProduct, planTitle, product, productTitle } from "./catalog.js";
import { clubOf } from "./clubs.js";
import { $, el, showText } from "./dom.js";
import { errorText } from "./fielderrors.js";
import { formatDate, formatMoney, t } from "./i18n.js";

const PAGE = 20;
/** @type {{items: import("../../api-types").HistoryItemOut[], next: string | null, done: boolean}} */
const loaded = { items: [], next: null, done: false };

export function initHistory() {
  $("history-more").addEventListener("click", async (e) => {
    const button = e.currentTarget;
    button.disabled = true;
    await loadPage();
    button.disabled = false;
    renderHistory();
  });
}

export function resetHistory() {
  loaded.items = [];
  loaded.next = null;
  loaded.done = false;
}

async function loadPage() {
  const query = "?limit=" + PAGE + (loaded.next ? "&cursor=" + encodeURIComponent(loaded.next) : "");
  const res = await api("GET", "/api/billing/transactions" + query);
  if (res.status !== 200 || !res.data) {
    showText($("history-error"), errorText(res, "error.loadHistory"));
    return false;
  }
  showText($("history-error"), "");
  const seen = new Set(loaded.items.map((i) => i.transaction_id));
  loaded.items.push(...res.data.items.filter((i) => !seen.has(i.transaction_id)));
  loaded.next = res.data.next_cursor;
  loaded.done = !res.data.next_cursor;
  return true;
}

export async function showHistory() {
  resetHistory();
  $("history-body").textContent = "";
  await loadPage();
  renderHistory();
}

function whatText(item) {
  const plan = planOfProduct(item.product_code);
  if (plan) {
    const club = item.club_id ? clubOf(item.club_id) : null;
    return t("what.plan", { plan: planTitle(plan), club: club ? club.name : "" });
  }
  const p = product(item.product_code);
  const title = p ? productTitle(p) : item.product_code;
  return item.quantity > 1 ? title + " × " + item.quantity : title;
}

/* A pending purchase whose Kaspi link has run out reads as what it is for the buyer. */
function statusOf(item) {
  const link = item.payment && item.payment.expires_at;
  return item.status === "pending" && link && Date.parse(link) <= Date.now() ? "link-expired" : item.status;
}

function statusBadge(status) {
  return el("span", { className: "badge status-" + status, "data-status": status, text: t("status." + status) });
}

export function renderHistory() {
  const body = $("history-body");
  body.textContent = "";
  $("history-empty").hidden = loaded.items.length > 0;
  $("history-table").hidden = loaded.items.length === 0;
  for (const item of loaded.items) {
    // data-label: on a phone each row is a card, and each cell names its column.
    const cell = (label, attrs, children) => el("td", { role: "cell", "data-label": t(label), ...attrs }, children);
    body.appendChild(el("tr", { role: "row", "data-tx": item.transaction_id }, [
      cell("history.date", { text: formatDate(item.created_at, true) }),
      cell("history.what", {}, [el("a", { href: "#/history/" + item.transaction_id, text: whatText(item) })]),
      cell("history.amount", { className: "num", text: formatMoney({ amount: item.amount, currency: item.currency }) }),
      cell("history.paymentId", { className: "mono", text: item.payment.payment_id || "—" }),
      cell("history.status", {}, [statusBadge(statusOf(item))]),
    ]));
    if (item.late) body.appendChild(lateRow(item, cell));
  }
  $("history-more").hidden = loaded.done;
}

/* Money that came after the purchase had closed (a cancel, an expired link): an entry of
 * its own, dated when it came, saying what became of it (granted, returned, checked). */
function lateRow(item, cell) {
  const text = lateText(item);
  return el("tr", { role: "row", className: "late-entry", "data-late": item.late.outcome, "data-tx": item.transaction_id }, [
    cell("history.date", { text: formatDate(item.late.at, true) }),
    cell("history.what", {}, [el("a", { href: "#/history/" + item.transaction_id, text })]),
    cell("history.amount", { className: "num", text: formatMoney({ amount: item.amount, currency: item.currency }) }),
    cell("history.paymentId", { className: "mono", text: item.payment.payment_id || "—" }),
    cell("history.status", {}, [statusBadge(item.status)]),
  ]);
}

function lateText(item) {
  const after = t(item.late.after === "canceled" ? "late.after.canceled" : "late.after.closed");
  return t("late.entry", { after, then: t("late.then." + item.status) });
}

/* A receipt: found in the pages already loaded, else by reading further pages. */
export async function showReceipt(txId) {
  let item = loaded.items.find((i) => i.transaction_id === txId);
  for (let pages = 0; !item && !loaded.done && pages < 20; pages++) {
    if (!(await loadPage())) break;
    item = loaded.items.find((i) => i.transaction_id === txId);
  }
  $("receipt-missing").hidden = !!item;
  $("receipt-card").hidden = !item;
  if (!item) return;
  const facts = $("receipt-facts");
  facts.textContent = "";
  const row = (label, value, attrs) => {
    facts.appendChild(el("dt", { text: t(label) }));
    facts.appendChild(el("dd", attrs || {}, [value]));
  };
  row("receipt.date", formatDate(item.created_at, true));
  row("receipt.what", whatText(item));
  row("receipt.amount", formatMoney({ amount: item.amount, currency: item.currency }), { "data-field": "amount" });
  row("receipt.status", statusBadge(statusOf(item)));
  // Only money received is "paid with" anything; an unpaid purchase was only offered there.
  const paid = !!item.settled_at;
  $("receipt-title").textContent = t(paid ? "title.view-receipt" : "receipt.unpaidTitle");
  row(paid ? "receipt.provider" : "receipt.providerUnpaid", "Kaspi");
  row("receipt.paymentId", item.payment.payment_id || "—", { className: "mono", "data-field": "payment-id" });
  if (paid) row("receipt.paidAt", formatDate(item.settled_at, true));
  if (item.late) row("receipt.late", lateText(item), { "data-field": "late" });
  const granted = item.granted;
  if (granted && granted.credits) row("receipt.granted", t("receipt.credits", { n: granted.credits.count }));
  if (granted && granted.plan) {
    row("receipt.granted", t("receipt.plan", {
      start: formatDate(granted.plan.period_start), end: formatDate(granted.plan.period_end),
    }));
  }
  for (const receipt of item.receipts || []) fiscalRow(row, receipt, item.currency);
  row("receipt.reference", item.transaction_id, { className: "mono" });
}

/* A fiscal receipt (sale, or a refund's return): a link to the register's receipt page
   once issued, "being issued" until then. */
function fiscalRow(row, receipt, currency) {
  const label = receipt.kind === "return" ? "receipt.fiscalReturn" : "receipt.fiscalSale";
  if (!receipt.fiscal_number) {
    row(label, t("receipt.fiscalPending"), { "data-field": "fiscal-receipt" });
    return;
  }
  const text = t("receipt.fiscalLink", {
    number: receipt.fiscal_number,
    amount: formatMoney({ amount: receipt.amount, currency }),
  });
  const link = receipt.ticket_url
    ? el("a", { href: receipt.ticket_url, target: "_blank", rel: "noopener noreferrer", text })
    : text;
  row(label, link, { "data-field": "fiscal-receipt" });
}
