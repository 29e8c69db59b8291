// @ts-check
/* The operator console's entry point: sign-in (a token with the billing_operator
 * role), the summary and its chart, the review queue, search, and a transaction's
 * story (ops-story.js). Everything comes from /api/ops/..., which checks the role. */
import { api, currentUser, isUnreachable, onUnauthenticated, savedToken, setToken } from "./api.js";
import { $, el, showText, wireDialog } from "./dom.js";
import { addTexts, detectLanguage, formatDate, formatMoney, formatNumber, language, onLanguageChange, setLanguage, t } from "./i18n.js";
import { drawChart } from "./ops-chart.js";
import { OPS_EN, OPS_RU } from "./ops-messages.js";
import { ageText, badge, initStory, openStory, renderStory, whyText } from "./ops-story.js";

addTexts("en", OPS_EN);
addTexts("ru", OPS_RU);

let summary = null;
let queue = [];
let search = { items: [], next: null, params: null };

// ------------------------------------------------------------------ sign-in

function showSignIn(message) {
  setToken(null);
  $("ops-console").hidden = true;
  $("ops-session").hidden = true;
  $("ops-signin").hidden = false;
  showText($("ops-signin-message"), message || "");
}

async function start(token) {
  setToken(token);
  const res = await api("GET", "/api/ops/summary");
  if (res.status === 403) return showSignIn(t("ops.signin.forbidden"));
  if (res.status === 401) return showSignIn(t("ops.signin.ended"));
  $("ops-signin").hidden = true;
  $("ops-console").hidden = false;
  $("ops-session").hidden = false;
  $("ops-user").textContent = t("ops.as", { user: currentUser() });
  if (res.status === 200) { summary = res.data; renderSummary(); } else showUnreachable(res);
  await loadQueue();
}

async function demoSignIn() {
  const res = await api("POST", "/api/dev/token", { auth: false, body: { user_id: "demo-operator", operator: true } });
  if (res.status !== 200) return showSignIn(t("ops.signin.failed"));
  await start(res.data.token);
}

function showUnreachable(res) {
  showText($("ops-error"), isUnreachable(res) ? t("ops.unreachable") : (res.data && res.data.error ? res.data.error.message : ""));
}

// ------------------------------------------------------------------ summary

async function loadSummary() {
  const res = await api("GET", "/api/ops/summary");
  if (res.status !== 200) return showUnreachable(res);
  summary = res.data;
  renderSummary();
}

function renderSummary() {
  if (!summary) return;
  const counted = (part) => (part.count ? t("ops.summary.count", { n: formatNumber(part.count), age: ageText(part.oldest_age_s) }) : t("ops.summary.none"));
  $("sum-review").textContent = counted(summary.needs_review);
  $("sum-pending").textContent = counted(summary.pending);
  $("sum-in").textContent = formatMoney({ amount: summary.today.money_in, currency: summary.today.currency });
  $("sum-out").textContent = formatMoney({ amount: summary.today.money_out, currency: summary.today.currency });
  const list = Object.entries(summary.by_status).map(([s, n]) => `${s} ${formatNumber(n)}`).join(", ");
  $("sum-status").textContent = t("ops.summary.statuses", { list });
  $("ops-summary").dataset.needsReview = String(summary.needs_review.count);
  drawChart($("chart"), summary.hours);
}

// ------------------------------------------------------------------ review queue

async function loadQueue() {
  const res = await api("GET", "/api/ops/review-queue");
  if (res.status !== 200) return showUnreachable(res);
  showText($("ops-error"), "");
  queue = res.data.items;
  renderQueue();
}

function openButton(txId) {
  return el("button", {
    type: "button", className: "button small", text: t("ops.open"),
    "aria-label": t("ops.openLabel", { id: txId.slice(0, 8) }),
    onClick: () => openStory(txId, true),
  });
}

function renderQueue() {
  const list = $("queue-list");
  list.textContent = "";
  $("queue-empty").hidden = queue.length > 0;
  for (const item of queue) {
    list.appendChild(el("li", { "data-transaction-id": item.transaction_id, "data-why": item.why }, [
      el("div", {}, [
        el("p", { className: "why", text: whyText(item) }),
        el("p", { className: "meta", text: t("ops.queue.meta", { user: item.user_id, product: item.product_code, age: ageText(item.age_s) }) }),
      ]),
      openButton(item.transaction_id),
    ]));
  }
}

// ------------------------------------------------------------------ search

async function runSearch(params, more) {
  const query = new URLSearchParams(params);
  if (more && search.next) query.set("cursor", search.next);
  const res = await api("GET", "/api/ops/transactions?" + query.toString());
  if (res.status !== 200) {
    showText($("search-error"), res.data && res.data.error ? res.data.error.message : t("ops.unreachable"));
    return;
  }
  showText($("search-error"), res.data.items.length || more ? "" : t("ops.search.none"));
  search = { items: more ? search.items.concat(res.data.items) : res.data.items, next: res.data.next_cursor, params };
  renderSearch();
}

function renderSearch() {
  const body = $("search-body");
  body.textContent = "";
  $("search-table").hidden = search.items.length === 0;
  for (const item of search.items) {
    body.appendChild(el("tr", { "data-tx": item.transaction_id }, [
      el("td", { text: formatDate(item.created_at, true) }),
      el("td", { text: item.user_id }),
      el("td", { className: "num", text: formatMoney({ amount: item.amount, currency: item.currency }) }),
      el("td", {}, [badge(item.status)]),
      el("td", {}, [openButton(item.transaction_id)]),
    ]));
  }
  $("search-more").hidden = !search.next;
}

function searchParams() {
  const params = {};
  if ($("search-status").value) params.status = $("search-status").value;
  if ($("search-user").value.trim()) params.user_id = $("search-user").value.trim();
  if ($("search-payment").value.trim()) params.payment_id = $("search-payment").value.trim();
  return params;
}

// ------------------------------------------------------------------ wiring

function init() {
  setLanguage(detectLanguage(), false);
  $("lang").value = language();
  $("lang").addEventListener("change", (e) => setLanguage(e.target.value, true));
  onLanguageChange(() => {
    $("lang").value = language();
    if (currentUser()) $("ops-user").textContent = t("ops.as", { user: currentUser() });
    renderSummary();
    renderQueue();
    renderSearch();
    renderStory();
  });
  onUnauthenticated(() => showSignIn(t("ops.signin.ended")));
  wireDialog($("confirm"));
  initStory(async () => { await Promise.all([loadQueue(), loadSummary()]); });
  const demo = $("ops-demo-signin");
  if (demo) demo.addEventListener("click", demoSignIn);
  $("ops-token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const token = $("ops-token-input").value.trim();
    if (token) start(token);
  });
  $("ops-sign-out").addEventListener("click", () => showSignIn(""));
  $("search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    runSearch(searchParams(), false);
  });
  $("search-more").addEventListener("click", () => runSearch(search.params || {}, true));
  const token = savedToken();
  if (token) start(token); else showSignIn("");
}

init();
