// @ts-check
/* The page's entry point: sign-in, navigation between views (hash routes),
 * language, and the parts of the home page (upgrades, new event, my events). */
import { api, currentUser, onUnauthenticated, savedToken, setToken } from "./api.js";
import { loadCatalog, upgradeProduct, freePlan } from "./catalog.js";
import { clubOf, initClubs, loadClubs, prefillClubEvent, refreshClub, renderClub, renderClubList } from "./clubs.js";
import { $, closeAllModals, closeModal, el, showText, wireDialog } from "./dom.js";
import { createEvent, findEvent, initEvents, loadEvents, openEdit, readEventFields, renderEventList, showApiFieldErrors } from "./events.js";
import { afterPurchase, initPublishing, publish, resizeFirst } from "./publishing.js";
import { errorText } from "./fielderrors.js";
import { initHistory, showHistory, showReceipt } from "./history.js";
import { detectLanguage, formatMoney, formatNumber, language, onLanguageChange, setLanguage, t } from "./i18n.js";
import { checkLateNow, followAll, initFollow, stopAll } from "./follow.js";
import { displayState, initPayment, rerender, shownKey } from "./payment.js";
import { initPaywall, rerenderPaywall, showPurchase, startAgain } from "./paywall.js";
import { allPurchases, syncWithServer } from "./store.js";

const VIEWS = ["view-home", "view-clubs", "view-club", "view-history", "view-receipt"];
let available = 0;

function route() {
  const hash = window.location.hash.replace(/^#\/?/, "");
  const [section, id] = hash.split("/");
  if (section === "clubs" && id) return { view: "view-club", id };
  if (section === "clubs") return { view: "view-clubs" };
  if (section === "history" && id) return { view: "view-receipt", id };
  if (section === "history") return { view: "view-history" };
  return { view: "view-home" };
}

async function showRoute(moveFocus) {
  if (!currentUser()) return;
  const r = route();
  VIEWS.forEach((v) => { $(v).hidden = v !== r.view; });
  document.querySelectorAll(".nav a").forEach((/** @type {HTMLElement} */ a) => {
    const current = a.dataset.view === r.view || (a.dataset.view === "view-clubs" && r.view === "view-club") ||
      (a.dataset.view === "view-history" && r.view === "view-receipt");
    if (current) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  });
  if (r.view === "view-club") {
    const problem = await refreshClub(r.id);
    $("club-missing").hidden = !problem;
    $("club-body").hidden = !!problem;
    if (!problem) renderClub(r.id);
  } else if (r.view === "view-clubs") {
    renderClubList();
  } else if (r.view === "view-history") {
    await showHistory();
  } else if (r.view === "view-receipt") {
    await showReceipt(r.id);
  } else {
    renderHome();
  }
  renderBanner();
  document.title = t("title." + r.view) + " · " + t("brand");
  // A view that took focus itself (a prefilled form) keeps it.
  if (moveFocus && !$(r.view).contains(document.activeElement)) {
    const heading = $(r.view).querySelector("h1");
    if (heading) heading.focus();
  }
}

// ------------------------------------------------------------------ sign-in

function signedOut(message) {
  stopAll();
  window.clearTimeout(reload.timer);
  closeAllModals(false);
  setToken(null);
  $("workspace").hidden = true;
  $("session").hidden = true;
  $("signin").hidden = false;
  showText($("signin-message"), message || "");
}

async function signedIn() {
  $("signin").hidden = true;
  $("workspace").hidden = false;
  $("session").hidden = false;
  $("session-user").textContent = t("session.as", { user: currentUser() });
  await loadAccount();
  checkLateNow();
}

// A failed load is not an empty account: the page says what it could not load, offers
// Retry, and tries again by itself (5, 10, 20, 30 s…) until the server answers.
const RELOAD_MAX_MS = 30000;
let reload = { timer: null, waitMs: 5000 };

async function loadAccount() {
  window.clearTimeout(reload.timer);
  const [catalogOk, eventsProblem, clubsProblem, creditsOk, synced] = await Promise.all([
    loadCatalog(), loadEvents(), loadClubs(), loadCredits(), syncWithServer(),
  ]);
  const problem = eventsProblem || clubsProblem ||
    (!creditsOk || !synced || !catalogOk ? t("error.loadAccount") : "");
  showText($("page-error"), problem);
  $("page-retry").hidden = !problem;
  if (!currentUser()) return;
  if (problem) {
    reload.timer = window.setTimeout(loadAccount, reload.waitMs);
    reload.waitMs = Math.min(reload.waitMs * 2, RELOAD_MAX_MS);
  } else {
    reload.waitMs = 5000;
  }
  await showRoute(false);
}

async function retryLoad(e) {
  const button = e.currentTarget;
  button.disabled = true;
  reload.waitMs = 5000;
  await loadAccount();
  button.disabled = false;
}

async function signInAsDemo(e) {
  const button = e.currentTarget;
  button.disabled = true;
  const res = await api("POST", "/api/dev/token", { auth: false, body: {} });
  button.disabled = false;
  if (res.status !== 200 || !res.data) {
    showText($("signin-message"), errorText(res, "error.signin"));
    return;
  }
  setToken(res.data.token);
  await signedIn();
  // Start at the top of the page, unless the user moved on while the lists loaded
  // (a nav link took them to a view, which focused its heading): keep their place.
  const focused = document.activeElement;
  if (!focused || focused === document.body || focused === button) $("main").focus();
}

async function signInWithToken(e) {
  e.preventDefault();
  const token = $("token-input").value.trim().replace(/^Bearer\s+/i, "");
  if (!token) {
    showText($("signin-message"), t("signin.empty"));
    $("token-input").focus();
    return;
  }
  setToken(token);
  $("token-input").value = "";
  await signedIn();
}

// ------------------------------------------------------------------ home

async function loadCredits() {
  const res = await api("GET", "/api/billing/credits");
  if (res.status !== 200 || !res.data) {
    if ($("credits-summary").dataset.available === "") $("credits-summary").textContent = t("credits.unknown");
    return false;
  }
  available = Object.values(res.data.available || {}).reduce((a, b) => a + b, 0);
  const used = (res.data.credits || []).filter((c) => c.status === "consumed").length;
  const summary = $("credits-summary");
  summary.dataset.available = String(available);
  summary.dataset.used = String(used);
  renderCredits();
  return true;
}

function renderCredits() {
  const summary = $("credits-summary");
  if (summary.dataset.available === "") return;
  summary.textContent = t("credits.summary", { n: Number(summary.dataset.available), used: Number(summary.dataset.used) });
  const free = freePlan();
  const upgrade = upgradeProduct();
  const parts = [];
  if (free && free.max_event_participants) parts.push(t("limits.free", { n: free.max_event_participants }));
  if (upgrade && upgrade.constraints && upgrade.constraints.max_participants) {
    parts.push(t("limits.upgrade", { n: upgrade.constraints.max_participants, price: formatMoney(upgrade.price) }));
  }
  parts.push(t("limits.club"));
  $("limits-hint").textContent = parts.join(" ");
}

function renderHome() {
  renderCredits();
  renderEventList($("events-list"), $("events-empty"), null);
}

async function createPersonalEvent(e) {
  e.preventDefault();
  const fields = readEventFields($("event-title"), $("event-max"), $("create-error"));
  if (!fields) return;
  showText($("create-note"), "");
  const res = await createEvent(fields, null);
  if (res.status === 201) {
    $("create-form").reset();
    $("event-title").focus();
    // Saved, but say now what publishing it will need, not only at Publish.
    const upgrade = upgradeProduct();
    const ceiling = upgrade && upgrade.constraints ? upgrade.constraints.max_participants : null;
    const size = fields.max_participants;
    if (ceiling && (size === null || size > ceiling)) {
      showText($("create-note"), t("create.needsClub", { n: formatNumber(ceiling) }));
    }
    return;
  }
  showApiFieldErrors(res, { title: $("event-title"), max_participants: $("event-max") }, $("create-error"), "error.createEvent");
}

// ------------------------------------------------------------------ purchases in progress

function itemForKey(key, record) {
  if (key.startsWith("club:")) {
    const club = clubOf(key.slice(5));
    return club ? { kind: "club", club } : null;
  }
  if (key.startsWith("event:")) {
    const event = findEvent(key.slice(6));
    if (!event) return null;
    return { kind: "event", event, club: event.club_id ? clubOf(event.club_id) : null };
  }
  return record.clubId && clubOf(record.clubId) ? { kind: "club", club: clubOf(record.clubId) } : null;
}

function renderBanner() {
  if (currentUser()) followAll();
  const list = $("purchase-banner-list");
  list.textContent = "";
  const open = $("paywall").open ? shownKey() : null;
  const items = allPurchases().filter((p) => p.key !== open);
  $("purchase-banner").hidden = items.length === 0;
  for (const p of items) {
    const item = itemForKey(p.key, p);
    const name = item ? (item.kind === "club" ? item.club.name : item.event.title) : t("banner.unknown");
    const state = displayState(p);
    const text = t("banner.item", { name, amount: formatMoney(p.amount) }) +
      (state === "pending" ? "" : " — " + t("status." + state));
    list.appendChild(el("li", { "data-state": state, "data-key": p.key }, [
      el("span", { text }), " ",
      el("button", { type: "button", className: "button small", text: t("banner.show"),
        onClick: (e) => showPurchase(p.key, item, e.currentTarget) }),
    ]));
  }
}

async function onSettled(record) {
  await Promise.all([loadCredits(), loadClubs()]);
  if (record.clubId) await refreshClub(record.clubId);
  const r = route();
  if (r.view === "view-club") renderClub(r.id);
  if (r.view === "view-home") renderHome();
  rerender();
  if (record.status === "completed" && record.eventId && $("paywall").contains(document.activeElement)) {
    $("publish-now").focus();
  }
}

// ------------------------------------------------------------------ start

function init() {
  ["paywall", "confirm", "edit-dialog", "delete-dialog"].forEach((id) => wireDialog($(id)));
  setLanguage(detectLanguage(), false);
  $("lang").value = language();
  $("lang").addEventListener("change", (e) => setLanguage(e.currentTarget.value, true));
  onLanguageChange(() => {
    if (currentUser()) $("session-user").textContent = t("session.as", { user: currentUser() });
    showRoute(false);
    rerender();
    rerenderPaywall();
  });
  onUnauthenticated(() => signedOut(t("signin.ended")));
  const demo = $("demo-signin");
  if (demo) demo.addEventListener("click", signInAsDemo);
  $("token-form").addEventListener("submit", signInWithToken);
  $("sign-out").addEventListener("click", () => signedOut(""));
  $("page-retry").addEventListener("click", retryLoad);
  $("create-form").addEventListener("submit", createPersonalEvent);
  $("paywall").addEventListener("closed", renderBanner);
  document.addEventListener("purchases-changed", renderBanner);
  initPaywall({ onEditEvent: (event) => openEdit(event, null), onCreateInClub: (event) => {
    closeModal($("paywall"), false);
    prefillClubEvent(event);
  } });
  initPayment({
    onSettled,
    onPublishNow: (record) => afterPurchase(record, $("publish-now")),
    onStartAgain: startAgain,
    onOpenClub: (id) => { closeModal($("paywall"), false); window.location.hash = "#/clubs/" + id; },
  });
  // Purchases settling in the background: their banner line changes, and what they
  // bought shows at once (upgrades counted, the club's plan), as when the dialog shows it.
  initFollow({ onSettled, onChanged: renderBanner });
  initEvents({ clubOf, onChanged: () => { showRoute(false); loadCredits(); }, onPublish: publish, resizeFirst });
  initClubs(); initHistory(); initPublishing();
  window.addEventListener("hashchange", () => { closeAllModals(false); showRoute(true); });
  const token = savedToken();
  if (token) {
    setToken(token);
    signedIn();
  } else {
    signedOut("");
  }
}

init();
