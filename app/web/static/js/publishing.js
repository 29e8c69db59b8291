// @ts-check
/* Publishing an event, and enlarging one published free past the free limit, with what
 * each needs: nothing, one upgrade credit to confirm, or a purchase (the paywall).
 *
 * The page asks GET /api/events/<id>/requirements first and acts on its 200 answer, so a
 * refusal it can foresee (402 paywall, 409 confirm the credit) is never sent as a request
 * that fails: a browser logs every non-2xx answer as an error. The POST and the PATCH are
 * still enforced on the server, and their 402/409 are still handled when a race (another
 * tab spending the last credit) makes the answer differ from the advice. */
import { api, errorCode } from "./api.js";
import { $, announce, closeAllModals, closeModal, delay, openModal, openModalElement, showText } from "./dom.js";
import { eventHooks, fallbackFocus, findEvent, showRowError, upsert } from "./events.js";
import { errorText } from "./fielderrors.js";
import { t } from "./i18n.js";
import { openPaywall } from "./paywall.js";
import { forget } from "./store.js";

let confirming = null; // {event, fields}: ``fields`` for an enlarging edit, null to publish

export function initPublishing() {
  $("confirm-ok").addEventListener("click", () => {
    if (!confirming) return;
    if (confirming.fields) saveResize(confirming.event, confirming.fields, true, $("confirm-ok"));
    else publish(confirming.event.id, true, $("confirm-ok"));
  });
}

/* What publishing (``size`` undefined) or resizing to ``size`` (null: unlimited) needs;
 * null when the server could not say (the POST or PATCH then decides and answers). */
export async function requirements(eventId, size) {
  const query = size === undefined ? "" : "?max_participants=" + (size === null ? "unlimited" : String(size));
  const res = await api("GET", "/api/events/" + encodeURIComponent(eventId) + "/requirements" + query);
  return res.status === 200 && res.data ? res.data : null;
}

function busy(trigger, on) {
  if (!trigger) return;
  trigger.disabled = on;
  if (on) trigger.setAttribute("aria-busy", "true"); else trigger.removeAttribute("aria-busy");
}

function showPaywall(event, error, returnTo, resize) {
  closeModal($("confirm"), false);
  closeModal($("edit-dialog"), false);
  $("paywall")._fallbackFocus = () => fallbackFocus(event.id);
  const club = event.club_id ? eventHooks().clubOf(event.club_id) : null;
  const shown = resize === undefined ? event : { ...event, max_participants: resize };
  openPaywall({ kind: "event", event: shown, club, resize }, error, returnTo);
}

function askToConfirm(event, fields, error, returnTo) {
  closeModal($("paywall"), false);
  closeModal($("edit-dialog"), false);
  confirming = { event, fields };
  const meta = (error && error.meta) || {};
  const n = meta.requested_participants || (fields ? fields.max_participants : event.max_participants);
  $("confirm-message").textContent = t(fields ? "confirm.enlarge" : "confirm.message", { title: event.title, n });
  $("confirm-ok").textContent = t(fields ? "confirm.okEnlarge" : "confirm.ok");
  showText($("confirm-error"), "");
  $("confirm")._fallbackFocus = () => fallbackFocus(event.id);
  openModal($("confirm"), returnTo, $("confirm-cancel"));
}

/* The paywall's "Publish now" (or "Apply the new size") once the purchase is paid. */
export async function afterPurchase(record, trigger) {
  const event = findEvent(record.eventId);
  if (event && event.published_at && typeof record.resize === "number") {
    const fields = { title: event.title, max_participants: record.resize };
    if (await resizeFirst(event, fields)) return null;
    return saveResize(event, fields, false, trigger);
  }
  return publish(record.eventId, false, trigger);
}

export async function publish(eventId, confirmCredit, trigger) {
  const event = findEvent(eventId) || { id: eventId, title: "", max_participants: null };
  const returnTo = trigger && !trigger.closest("dialog") ? trigger : fallbackFocus(eventId);
  busy(trigger, true);
  showRowError(eventId, "");
  const need = confirmCredit ? null : await requirements(eventId);
  if (need && need.outcome === "payment_required") {
    busy(trigger, false);
    return showPaywall(event, need.error, returnTo);
  }
  if (need && need.outcome === "confirm_credit") {
    busy(trigger, false);
    return askToConfirm(event, null, need.error, returnTo);
  }
  const path = "/api/events/" + encodeURIComponent(eventId) + "/publish" + (confirmCredit ? "?confirm_credit=1" : "");
  let res;
  for (let tries = 3; ; tries--) {
    res = await api("POST", path);
    if (!(res.status === 409 && errorCode(res) === "PUBLISH_IN_PROGRESS" && tries > 0)) break;
    await delay(Math.min(parseInt(res.headers.get("Retry-After") || "1", 10) || 1, 5) * 1000);
  }
  busy(trigger, false);
  const code = errorCode(res);
  if (res.status === 200 && res.data) {
    upsert({ ...event, published_at: res.data.published_at,
      upgraded_by_credit: event.upgraded_by_credit || res.data.credit_consumed });
    const wasOpen = openModalElement();
    closeAllModals(false);
    forget("event:" + eventId);
    eventHooks().onChanged();
    announce(t(res.data.credit_consumed ? "announce.publishedUpgrade" : "announce.published", { title: event.title }));
    if (wasOpen) fallbackFocus(eventId).focus();
  } else if (res.status === 402 && code === "PAYWALL") {
    showPaywall(event, res.data.error, returnTo);
  } else if (res.status === 409 && code === "CREDIT_CONFIRMATION_REQUIRED") {
    askToConfirm(event, null, res.data.error, returnTo);
  } else {
    failed(eventId, res, "error.publish");
  }
  return res;
}

function failed(eventId, res, fallbackKey) {
  const text = errorText(res, fallbackKey);
  const open = openModalElement();
  if (open === $("confirm")) showText($("confirm-error"), text);
  else if (open === $("paywall")) showText($("paywall-error"), text);
  else if (open === $("edit-dialog")) showText($("edit-error"), text);
  else showRowError(eventId, text);
}

/* An edit that changes a published event's size: asks first. Answers whether it took the
 * edit over (a paywall or a confirmation is shown instead of the PATCH). */
export async function resizeFirst(event, fields) {
  if (!event.published_at || fields.max_participants === event.max_participants) return false;
  const need = await requirements(event.id, fields.max_participants);
  if (!need || need.outcome === "allowed" || need.outcome === "already_published") return false;
  const returnTo = fallbackFocus(event.id);
  if (need.outcome === "confirm_credit") askToConfirm(event, fields, need.error, returnTo);
  else showPaywall(event, need.error, returnTo, fields.max_participants);
  return true;
}

/* PATCH the edit; ``confirmCredit`` binds one upgrade credit to the event with it. */
export async function saveResize(event, fields, confirmCredit, trigger) {
  busy(trigger, true);
  const path = "/api/events/" + encodeURIComponent(event.id) + (confirmCredit ? "?confirm_credit=1" : "");
  const res = await api("PATCH", path, { body: fields });
  busy(trigger, false);
  if (res.status === 200 && res.data) {
    upsert(res.data);
    closeAllModals(false);
    forget("event:" + event.id);
    eventHooks().onChanged();
    announce(t(res.data.upgraded_by_credit && !event.upgraded_by_credit ? "announce.enlarged" : "announce.saved",
      { title: res.data.title }));
    fallbackFocus(event.id).focus();
  } else if (res.status === 402 && errorCode(res) === "PAYWALL") {
    showPaywall(event, res.data.error, fallbackFocus(event.id), fields.max_participants);
  } else if (res.status === 409 && errorCode(res) === "CREDIT_CONFIRMATION_REQUIRED") {
    askToConfirm(event, fields, res.data.error, fallbackFocus(event.id));
  } else {
    failed(event.id, res, "error.save");
  }
  return res;
}
