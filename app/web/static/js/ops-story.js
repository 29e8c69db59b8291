// @ts-check
/* A transaction's story in the console: its facts, why it is held, the timeline of
 * audit events with Kaspi's answers, refunds, operators' actions; and the actions
 * an operator may take, each confirmed in a dialog that states the money that moves. */
import { api, errorCode, isUnreachable } from "./api.js";
import { $, announce, closeModal, el, openModal, showText } from "./dom.js";
import { formatDate, formatMoney, t } from "./i18n.js";

let shown = null;      // the story on screen
let pending = null;    // the action the confirmation dialog is about
let afterAct = null;   // called once an action is done (refresh the queue, the summary)

const money = (amount) => (amount === null || amount === undefined ? "—" : formatMoney({ amount, currency: "KZT" }));

export function initStory(onActed) {
  afterAct = onActed;
  $("confirm-go").addEventListener("click", confirmAction);
}

export function shownId() { return shown ? shown.transaction.transaction_id : null; }

export function whyText(review) {
  if (!review) return "";
  const vars = { ours: money(review.amount), theirs: money(review.provider_amount), reason: review.reason || "—" };
  return t("ops.why." + review.why, vars);
}

export function ageText(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 3600) return t("ops.age.min", { n: Math.max(1, Math.round(seconds / 60)) });
  if (seconds < 172800) return t("ops.age.h", { n: Math.round(seconds / 3600) });
  return t("ops.age.d", { n: Math.round(seconds / 86400) });
}

export function badge(status) {
  return el("span", { className: "badge status-" + status, "data-status": status, text: status });
}

/* Load and show one transaction; answers the API's status (200, 404, ...). */
export async function openStory(txId, moveFocus) {
  const res = await api("GET", "/api/ops/transactions/" + encodeURIComponent(txId));
  if (res.status !== 200) return res;
  shown = res.data;
  renderStory();
  $("ops-story").hidden = false;
  if (moveFocus) $("story-title").focus();
  return res;
}

export function renderStory() {
  if (!shown) return;
  const tx = shown.transaction;
  $("ops-story").dataset.transactionId = tx.transaction_id;
  $("ops-story").dataset.status = tx.status;
  $("story-title").textContent = t("ops.story.title", { id: tx.transaction_id });
  const facts = $("story-facts");
  facts.textContent = "";
  const fact = (key, value) => facts.append(el("dt", { text: t(key) }), el("dd", {}, [value]));
  fact("ops.fact.status", badge(tx.status));
  fact("ops.fact.user", tx.user_id);
  fact("ops.fact.product", tx.product_code + " ×" + tx.quantity);
  fact("ops.fact.amount", money(tx.amount));
  fact("ops.fact.refunded", money(tx.refunded_amount));
  fact("ops.fact.payment", tx.provider_payment_id || "—");
  fact("ops.fact.created", formatDate(tx.created_at, true));
  showText($("story-why"), whyText(shown.review));
  renderTimeline();
  renderLists();
  renderActions();
}

function renderTimeline() {
  const list = $("story-timeline");
  list.textContent = "";
  for (const e of shown.events) {
    const parts = [(e.from_status || "∅") + " → " + e.to_status, t("ops.event.by", { source: e.source })];
    if (e.provider_status) parts.push(t("ops.event.kaspi", { status: e.provider_status }));
    if (e.provider_amount !== null) {
      parts.push(t("ops.event.amounts", { ours: money(e.amount), theirs: money(e.provider_amount) }));
    }
    list.appendChild(el("li", { "data-to": e.to_status }, [
      el("span", { className: "when", text: formatDate(e.at, true) + " · " }),
      el("span", { text: parts.join(" · ") }),
      e.note ? el("span", { className: "note", text: e.note }) : null,
    ]));
  }
}

function renderLists() {
  const refunds = $("story-refunds");
  refunds.textContent = "";
  for (const r of shown.refunds) {
    refunds.appendChild(el("li", {
      text: formatDate(r.at, true) + " · " + t("ops.refund.row", { amount: money(r.amount), credits: r.credits_revoked }),
    }));
  }
  $("story-refunds-wrap").hidden = shown.refunds.length === 0;
  const actions = $("story-actions");
  actions.textContent = "";
  for (const a of shown.operator_actions) {
    actions.appendChild(el("li", {
      text: formatDate(a.at, true) + " · " + t("ops.action.row", {
        operator: a.operator_id, action: a.action, outcome: a.outcome, reason: a.reason,
      }),
    }));
  }
  $("story-actions-wrap").hidden = shown.operator_actions.length === 0;
}

/* The actions this status allows, each with the money it would move. */
function available() {
  const tx = shown.transaction;
  if (tx.status === "needs_review") {
    const received = shown.review ? shown.review.provider_amount : null;
    return [
      { kind: "grant", path: "resolve", body: { action: "grant" }, theirs: received },
      { kind: "resolve_refund", path: "resolve", body: { action: "refund" }, amount: received },
      { kind: "fail", path: "resolve", body: { action: "fail" } },
    ];
  }
  if (tx.status !== "completed") return [];
  const can = shown.refundable;
  const out = [];
  if (can.full) out.push({ kind: "refund", path: "refund", body: { amount: can.full }, amount: can.full });
  if (can.unused && can.unused !== can.full) {
    out.push({ kind: "refund_unused", path: "refund", body: { unused: true, amount: can.unused },
      amount: can.unused, n: can.unused_credits });
  }
  return out;
}

function renderActions() {
  const buttons = $("act-buttons");
  buttons.textContent = "";
  const actions = available();
  $("act-form").hidden = actions.length === 0;
  showText($("act-reason-error"), "");
  for (const action of actions) {
    buttons.appendChild(el("button", {
      type: "button", className: "button" + (action.amount ? " danger" : ""), "data-action": action.kind,
      text: t("ops.act." + action.kind), onClick: (e) => askConfirmation(action, e.currentTarget),
    }));
  }
}

function askConfirmation(action, button) {
  const reason = $("act-reason").value.trim();
  if (!reason) {
    showText($("act-reason-error"), t("ops.act.reasonMissing"));
    $("act-reason").setAttribute("aria-invalid", "true");
    $("act-reason").focus();
    return;
  }
  $("act-reason").removeAttribute("aria-invalid");
  showText($("act-reason-error"), "");
  pending = { ...action, reason, txId: shown.transaction.transaction_id };
  const vars = { amount: money(action.amount), theirs: money(action.theirs), n: action.n };
  $("confirm-text").textContent = t("ops.confirm." + action.kind, vars);
  $("confirm-go").textContent = action.amount
    ? t("ops.confirm.go.money", vars)
    : t(action.kind === "grant" ? "ops.confirm.go.grant" : "ops.confirm.go.fail");
  $("confirm-go").dataset.action = action.kind;
  showText($("confirm-error"), "");
  openModal($("confirm"), button, $("confirm-title"));
}

async function confirmAction() {
  if (!pending) return;
  const go = $("confirm-go");
  go.disabled = true;
  go.setAttribute("aria-busy", "true");
  const { txId, path, body, reason } = pending;
  const res = await api("POST", `/api/ops/transactions/${encodeURIComponent(txId)}/${path}`, {
    body: { ...body, reason },
  });
  go.disabled = false;
  go.removeAttribute("aria-busy");
  if (res.status !== 200) {
    const message = isUnreachable(res) ? t("ops.unreachable")
      : (res.data && res.data.error ? res.data.error.message : errorCode(res) || String(res.status));
    showText($("confirm-error"), message);
    return;
  }
  pending = null;
  closeModal($("confirm"), false);
  $("act-reason").value = "";
  announce(t("ops.done", { status: res.data.status }));
  await openStory(txId, true);
  if (afterAct) await afterAct();
}
