// @ts-check
/* Clubs: the list with "create a club", and a club's page: plan and
 * subscription (status, period, renewal, grace warning, seats), buying a plan
 * through the paywall, members with roles, and the club's events. */
import { api, errorCode } from "./api.js";
import { freePlan, plan as planById, planTitle } from "./catalog.js";
import { $, announce, el, showText } from "./dom.js";
import { errorText } from "./fielderrors.js";
import { formatDate, formatNumber, t } from "./i18n.js";
import { createEvent, readEventFields, renderEventList, showApiFieldErrors } from "./events.js";
import { openPaywall } from "./paywall.js";
import { initRenewal, renderRenewal } from "./renewal.js";

export const clubs = { list: [], byId: {}, members: {} };
let shownClubId = null;
let prefill = null;

export function initClubs() {
  $("club-create-form").addEventListener("submit", createClub);
  $("member-form").addEventListener("submit", addMember);
  $("club-event-form").addEventListener("submit", createClubEvent);
  initRenewal();
  $("club-buy").addEventListener("click", (e) => {
    const club = clubs.byId[shownClubId];
    if (club) openPaywall({ kind: "club", club }, null, e.currentTarget);
  });
}

export function clubOf(id) { return clubs.byId[id] || null; }

export async function loadClubs() {
  const res = await api("GET", "/api/clubs");
  if (res.status !== 200 || !res.data) return errorText(res, "error.loadClubs");
  clubs.list = res.data.clubs;
  clubs.byId = Object.fromEntries(clubs.list.map((c) => [c.id, c]));
  return null;
}

export async function refreshClub(id) {
  const [club, members] = await Promise.all([
    api("GET", "/api/clubs/" + encodeURIComponent(id)),
    api("GET", "/api/clubs/" + encodeURIComponent(id) + "/members"),
  ]);
  if (club.status !== 200) return errorText(club, "error.loadClubs");
  clubs.byId[id] = club.data;
  const i = clubs.list.findIndex((c) => c.id === id);
  if (i >= 0) clubs.list[i] = club.data; else clubs.list.unshift(club.data);
  if (members.status === 200) clubs.members[id] = members.data.members;
  return null;
}

/* "Create it as a club event" from a personal event's paywall. */
export function prefillClubEvent(event) {
  prefill = { title: event.title, max: event.max_participants };
  const owned = clubs.list.find((c) => c.role === "owner");
  window.location.hash = owned ? "#/clubs/" + owned.id : "#/clubs";
}

export function renderClubList() {
  const list = $("clubs-list");
  list.textContent = "";
  $("clubs-empty").hidden = clubs.list.length > 0;
  for (const club of clubs.list) {
    const p = planById(club.plan_id);
    list.appendChild(el("li", { className: "club-row" }, [
      el("a", { href: "#/clubs/" + club.id, text: club.name }),
      el("span", { className: "meta", text: " · " + t("role." + club.role) + " · " + (p ? planTitle(p) : club.plan_id) }),
    ]));
  }
  if (prefill) $("club-name").focus();
}

export function renderClub(id) {
  shownClubId = id;
  const club = clubs.byId[id];
  if (!club) return;
  $("club-title").textContent = club.name;
  $("club-role").textContent = t("club.yourRole", { role: t("role." + club.role) });
  const p = planById(club.plan_id) || freePlan();
  const sub = club.subscription;
  $("club-plan").textContent = p ? planTitle(p) : club.plan_id;
  $("club-sub-status").textContent = sub ? t("sub." + sub.status) : t("sub.none");
  $("club-sub-status").dataset.status = sub ? sub.status : "none";
  $("club-period-row").hidden = !sub;
  $("club-period-row-label").hidden = !sub;
  if (sub) {
    $("club-period").textContent = t("club.period", {
      start: formatDate(sub.current_period_start), end: formatDate(sub.current_period_end),
    });
    $("club-renewal").textContent = sub.status === "expired" ? t("club.expiredOn", { date: formatDate(sub.grace_until) })
      : t("club.renewBy", { date: formatDate(sub.current_period_end) });
  }
  const grace = sub && sub.status === "grace";
  $("club-grace").hidden = !grace;
  if (grace) $("club-grace").textContent = t("club.grace", { date: formatDate(sub.grace_until) });
  renderRenewal(club, async (clubId) => {
    await refreshClub(clubId);
    if (shownClubId === clubId) renderClub(clubId);
    return clubs.byId[clubId] || null;
  });
  const limit = p && p.max_members;
  $("club-seats").textContent = limit ? t("club.seats", { used: formatNumber(club.member_count), limit: formatNumber(limit) })
    : t("club.seatsAny", { used: formatNumber(club.member_count), n: club.member_count });
  $("club-seats").dataset.used = String(club.member_count);
  const owner = club.role === "owner";
  $("club-buy").hidden = !owner;
  $("club-buy").textContent = t(sub && sub.status !== "expired" && club.plan_id !== (freePlan() || {}).id ? "club.renewOrSwitch" : "club.buyPlan");
  const manager = owner || club.role === "admin";
  $("club-manage").hidden = !manager;
  // Plain members see the club's published events; creating them is for its managers.
  $("club-event-form").hidden = !manager;
  $("club-events-members-only").hidden = manager;
  $("member-role").querySelector('option[value="admin"]').disabled = !owner;
  renderMembers(id);
  renderEventList($("club-events-list"), $("club-events-empty"), id);
  if (prefill) {
    $("club-event-title").value = prefill.title;
    $("club-event-max").value = prefill.max === null ? "" : String(prefill.max);
    prefill = null;
    $("club-event-title").focus();
  }
}

function renderMembers(id) {
  const list = $("members-list");
  list.textContent = "";
  for (const m of clubs.members[id] || []) {
    list.appendChild(el("li", { "data-user": m.user_id }, [
      el("span", { className: "mono", text: m.user_id }), " · ",
      el("span", { className: "badge", text: t("role." + m.role) }),
    ]));
  }
}

async function createClub(e) {
  e.preventDefault();
  const input = $("club-name");
  const name = input.value.trim();
  input.removeAttribute("aria-invalid");
  if (!name) {
    input.setAttribute("aria-invalid", "true");
    showText($("club-create-error"), t("field.name.empty"));
    input.focus();
    return;
  }
  const res = await api("POST", "/api/clubs", { body: { name } });
  if (res.status !== 201) {
    showApiFieldErrors(res, { name: input }, $("club-create-error"), "error.createClub");
    return;
  }
  showText($("club-create-error"), "");
  input.value = "";
  clubs.list.unshift(res.data);
  clubs.byId[res.data.id] = res.data;
  announce(t("announce.clubCreated", { name: res.data.name }));
  window.location.hash = "#/clubs/" + res.data.id;
}

async function addMember(e) {
  e.preventDefault();
  const input = $("member-user");
  const userId = input.value.trim();
  input.removeAttribute("aria-invalid");
  if (!userId) {
    input.setAttribute("aria-invalid", "true");
    showText($("member-error"), t("field.user.empty"));
    input.focus();
    return;
  }
  const res = await api("POST", "/api/clubs/" + encodeURIComponent(shownClubId) + "/members", {
    body: { user_id: userId, role: $("member-role").value },
  });
  if (res.status === 201) {
    showText($("member-error"), "");
    input.value = "";
    await refreshClub(shownClubId);
    renderClub(shownClubId);
    announce(t("announce.memberAdded", { user: userId }));
    input.focus();
    return;
  }
  if (res.status === 402 && errorCode(res) === "PAYWALL") {
    showText($("member-error"), t("error.membersFull"));
    return;
  }
  showApiFieldErrors(res, { user_id: input }, $("member-error"), "error.addMember");
}

async function createClubEvent(e) {
  e.preventDefault();
  const fields = readEventFields($("club-event-title"), $("club-event-max"), $("club-event-error"));
  if (!fields) return;
  const res = await createEvent(fields, shownClubId);
  if (res.status === 201) {
    $("club-event-form").reset();
    $("club-event-title").focus();
    return;
  }
  if (res.status === 402 && errorCode(res) === "PAYWALL") {
    showText($("club-event-error"), t("error.subscriptionInactive"));
    return;
  }
  showApiFieldErrors(res, { title: $("club-event-title"), max_participants: $("club-event-max") },
    $("club-event-error"), "error.createEvent");
}
