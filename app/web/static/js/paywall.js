// @ts-check
/* The paywall dialog: why publishing needs a purchase, what can be bought, and
 * the purchase itself (handed to payment.js once it exists).
 *
 * Opened for an item: {kind: "event", event, club} (a 402 from publish) or
 * {kind: "club", club} (buy, renew or switch a plan from the club page). If a
 * purchase for the same item is in progress, that purchase is shown instead of
 * the options; purchases for other items never get in the way.
 */
import { api, errorCode } from "./api.js";
import { plan as planById, planTitle, plans, product, productTitle, upgradeProduct } from "./catalog.js";
import { $, announce, closeModal, delay, el, openModal, showText } from "./dom.js";
import { errorText } from "./fielderrors.js";
import { formatMoney, t } from "./i18n.js";
import { shownRecord, startWatching, stopWatching } from "./payment.js";
import { messageText, subjectText, titleFor } from "./paywalltext.js";
import { attemptKey, dropAttempt, forget, fromBody, itemKey, purchaseFor, remember } from "./store.js";

const RETRIES = 3;
let active = null; // {item, key, error}
/** @type {Record<string, (...args: any[]) => any>} */
let hooks = { onEditEvent() {}, onCreateInClub() {} };

export function initPaywall(callbacks) {
  hooks = { ...hooks, ...callbacks };
  const dialog = $("paywall");
  dialog.addEventListener("closed", () => {
    stopWatching();
    active = null;
  });
}

export function openPaywall(item, error, returnFocus) {
  const key = itemKey(item);
  active = { item, key, error: error || null };
  const dialog = $("paywall");
  showText($("paywall-error"), "");
  $("paywall-title").textContent = titleFor(item);
  $("paywall-subject").textContent = subjectText(item);
  $("paywall-message").textContent = messageText(item, error);
  const pending = purchaseFor(key);
  if (pending) startWatching(key, withItem(pending, item));
  else renderOptions();
  openModal(dialog, returnFocus);
}

/* Show a purchase by its key (the banner's "Show"), with no 402 behind it. */
export function showPurchase(key, item, returnFocus) {
  const record = purchaseFor(key);
  if (!record) return;
  active = { item, key, error: null };
  showText($("paywall-error"), "");
  $("paywall-subject").textContent = item ? subjectText(item) : "";
  $("paywall-message").textContent = "";
  startWatching(key, withItem(record, item));
  openModal($("paywall"), returnFocus);
}

/* The language changed: the options (if shown) are drawn again in it. */
export function rerenderPaywall() {
  if (!active || !$("paywall").open) return;
  $("paywall-subject").textContent = subjectText(active.item);
  $("paywall-message").textContent = active.item ? messageText(active.item, active.error) : "";
  if (!$("paywall-choose").hidden) renderOptions();
}

/* After a declined, expired or canceled payment: the options again. */
export async function startAgain() {
  if (!active) return;
  const record = shownRecord();
  stopWatching();
  forget(active.key);
  if (record && record.status === "pending") {
    // The link ran out but the purchase is still open on the server (until Kaspi's
    // answer closes it): cancel it, or the server refuses the next one for this event.
    const current = active;
    await api("POST", "/api/billing/transactions/" + encodeURIComponent(record.transaction_id) + "/cancel");
    if (active !== current) return;
  }
  if (!active.item) {
    // A purchase from another browser whose event this one doesn't know: nothing to offer.
    closeModal($("paywall"), true);
    return;
  }
  renderOptions();
  $("paywall-title").focus();
}

function withItem(record, item) {
  if (!item) return record;
  return {
    ...record,
    eventId: item.event ? item.event.id : record.eventId || null,
    clubId: item.club ? item.club.id : record.clubId || null,
    clubName: item.club ? item.club.name : record.clubName || null,
    resize: item.resize === undefined ? record.resize : item.resize, // an enlarging edit's size
  };
}

// ------------------------------------------------------------------ options

function renderOptions() {
  $("paywall-choose").hidden = false;
  $("paywall-progress").hidden = true;
  $("paywall-title").textContent = titleFor(active.item);
  $("paywall-message").hidden = false;
  const list = $("paywall-options");
  list.textContent = "";
  const { item, error } = active;
  const options = item.kind === "club" ? planOptions(item, error) : (error && error.options) || [];
  options.forEach((option, index) => {
    if (option.type === "ONE_OFF_CREDIT") list.appendChild(creditOption(option, index));
    else if (option.type === "CLUB_ACCESS") list.appendChild(clubOption(option, index));
  });
  const tooBig = item.kind === "event" && !item.club && error &&
    error.reason === "CLUB_REQUIRED_FOR_LARGE_EVENT";
  if (tooBig && (error.meta || {}).credit_ceiling) {
    list.appendChild(el("li", { className: "option" }, [
      el("h3", { text: t("option.lower.title", { n: error.meta.credit_ceiling }) }),
      el("p", { text: t("option.lower.text") }),
      el("button", { type: "button", className: "button", text: t("option.lower.button"),
        onClick: () => hooks.onEditEvent(item.event) }),
    ]));
  }
  if (!list.children.length) list.appendChild(el("li", { className: "option" }, [el("p", { text: t("option.none") })]));
}

/* From the club page: every paid plan; the current one renews, others switch. */
function planOptions(item, error) {
  const recommended = error && error.required_plan_id;
  return plans().filter((p) => p.product_code && product(p.product_code)).map((p) => ({
    type: "CLUB_ACCESS",
    recommended_plan_id: p.id,
    price: product(p.product_code).price,
    recommended: recommended ? p.id === recommended : false,
  }));
}

function creditOption(option, index) {
  const p = product(option.product_code) || upgradeProduct();
  const price = formatMoney(option.price);
  const titleId = "option-title-" + index;
  const limit = p && p.constraints ? p.constraints.max_participants : null;
  return el("li", {
    className: "option recommended", "data-option": option.type,
    "data-amount": option.price.amount,
  }, [
    el("h3", { id: titleId }, [
      el("span", { text: p ? productTitle(p) : option.product_code }),
      el("span", { className: "price", text: price }),
    ]),
    el("p", { text: t("option.credit.text", { n: limit }) }),
    buyButton(t("option.buy", { price }), titleId, option.product_code, null),
  ]);
}

function clubOption(option, index) {
  const { item } = active;
  const p = planById(option.recommended_plan_id);
  const price = formatMoney(option.price);
  const titleId = "option-title-" + index;
  const club = item.club;
  const currentPlan = club && club.subscription && club.subscription.status !== "expired"
    ? club.plan_id : null;
  const children = [
    el("h3", { id: titleId }, [
      el("span", { text: p ? planTitle(p) : option.recommended_plan_id }),
      p && currentPlan === p.id ? el("span", { className: "badge current", text: t("option.current") }) : null,
      el("span", { className: "price" }, [
        price, p ? el("span", { className: "per", text: " " + t("per.days", { n: p.period_days }) }) : null,
      ]),
    ]),
    p ? el("p", { text: planLimits(p) }) : null,
  ];
  if (club && club.role === "owner" && p) {
    const label = currentPlan === p.id ? t("option.renew", { price })
      : currentPlan ? t("option.switch", { price }) : t("option.buyPlan", { price });
    children.push(buyButton(label, titleId, p.product_code, club.id));
  } else if (club) {
    children.push(el("p", { className: "hint", text: t("option.ownerOnly") }));
  } else {
    // A personal event: plans cover a club's events, so offer to make it one.
    children.push(el("p", { className: "hint", text: t("option.club.personal") }));
    children.push(el("button", {
      type: "button", className: "button", text: t("option.club.create"),
      onClick: () => hooks.onCreateInClub(item.event),
    }));
  }
  // Highlighted where a plan is the way forward: a club's page or a club event.
  const recommended = !!club && option.recommended !== false &&
    (!active.error || option.recommended_plan_id === active.error.required_plan_id);
  return el("li", {
    className: "option" + (recommended ? " recommended" : ""), "data-option": option.type,
    "data-plan": option.recommended_plan_id, "data-amount": option.price.amount,
  }, children);
}

export function planLimits(p) {
  const parts = [
    p.max_event_participants ? t("limit.event", { n: p.max_event_participants }) : t("limit.eventAny"),
    p.max_members ? t("limit.members", { n: p.max_members }) : t("limit.membersAny"),
  ];
  if (p.paid_events) parts.push(t("limit.paid"));
  return parts.join(", ") + ".";
}

function buyButton(label, describedBy, productCode, clubId) {
  const button = el("button", {
    type: "button", className: "button primary buy", "aria-describedby": describedBy,
    "data-product-code": productCode, text: label,
  });
  button.addEventListener("click", () => buy(productCode, clubId, button));
  return button;
}

// ------------------------------------------------------------------ buying

const phone = () => window.matchMedia("(max-width: 699px)").matches;

async function buy(productCode, clubId, button) {
  if (!active || active.buying) return;
  const current = active;
  current.buying = true;
  document.querySelectorAll("#paywall-options .buy").forEach((/** @type {HTMLButtonElement} */ b) => { b.disabled = true; });
  button.setAttribute("aria-busy", "true");
  const label = button.textContent;
  button.textContent = t("option.creating");
  showText($("paywall-error"), "");
  const key = attemptKey(current.key, productCode);
  // On a phone the Kaspi page opens in the click itself (popup blockers allow that);
  // a desktop shows the QR code to scan instead.
  const win = phone() ? openBlank() : null;
  const body = clubId ? { product_code: productCode, club_id: clubId } : { product_code: productCode, quantity: 1 };
  // An upgrade names its event: the server keeps one open purchase per event.
  if (!clubId && current.item.kind === "event" && current.item.event) body.event_id = current.item.event.id;
  let res;
  for (let tries = RETRIES; ; tries--) {
    res = await api("POST", "/api/billing/purchase-intent", { body, headers: { "Idempotency-Key": key } });
    const retry = res.networkError || res.status >= 500 || errorCode(res) === "IDEMPOTENCY_KEY_IN_USE";
    if (!retry || tries <= 0) break;
    const wait = parseInt(res.headers.get("Retry-After") || "", 10);
    await delay(wait > 0 ? wait * 1000 : 700);
  }
  current.buying = false;
  button.removeAttribute("aria-busy");
  button.textContent = label;
  document.querySelectorAll("#paywall-options .buy").forEach((/** @type {HTMLButtonElement} */ b) => { b.disabled = false; });
  if (active !== current) {
    // The dialog was closed meanwhile: keep the purchase (the banner shows it).
    if (res.status === 201 && res.data) {
      remember(current.key, withItem(fromBody(res.data, {}), current.item));
      document.dispatchEvent(new CustomEvent("purchases-changed"));
    }
    if (win) win.close();
    return;
  }
  if (res.status === 201 && res.data) {
    const record = withItem(fromBody(res.data, {}), current.item);
    remember(current.key, record);
    startWatching(current.key, record);
    if (win && record.payment_url) win.location.href = record.payment_url;
    else if (win) win.close();
    $("payment-status").focus();
    announce(t("announce.created"));
    return;
  }
  const open = errorCode(res) === "PURCHASE_IN_PROGRESS" && res.data.error.transaction;
  if (open) {
    // Another browser of yours started one for this event: show that one instead.
    dropAttempt(current.key);
    const record = withItem(fromBody(open, {}), current.item);
    remember(current.key, record);
    startWatching(current.key, record);
    if (win && record.payment_url) win.location.href = record.payment_url;
    else if (win) win.close();
    $("payment-status").focus();
    announce(t("announce.openElsewhere"));
    return;
  }
  if (win) win.close();
  const temporary = res.networkError || res.status >= 500 || errorCode(res) === "IDEMPOTENCY_KEY_IN_USE";
  if (!temporary) dropAttempt(current.key);
  showText($("paywall-error"), errorText(res, "error.buy") + (temporary ? " " + t("error.nothingCharged") : ""));
  button.focus();
}

function openBlank() {
  let win = null;
  try { win = window.open("", "_blank"); } catch (e) { win = null; }
  if (win) { try { win.opener = null; } catch (e) { /* cross-origin later */ } }
  return win;
}
