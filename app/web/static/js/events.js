/* Events: the list (personal ones on the home page, a club's on its page),
 * creating drafts, editing and deleting them, and publishing with its answers:
 * 200 published, 402 paywall, 409 confirm the use of an upgrade. */
import { api, errorCode } from "./api.js";
import { $, announce, closeAllModals, closeModal, delay, el, openModal, openModalElement, showText } from "./dom.js";
import { errorText, fieldErrors } from "./fielderrors.js";
import { formatNumber, t } from "./i18n.js";
import { openPaywall } from "./paywall.js";
import { forget } from "./store.js";

// ``loaded``: the list came from the server at least once (an empty list then means none).
export const state = { events: [], loaded: false };
let hooks = { clubOf() { return null; }, onChanged() {} };
let editing = null;
let deleting = null;
let confirming = null;

export function initEvents(callbacks) {
  hooks = { ...hooks, ...callbacks };
  $("edit-form").addEventListener("submit", saveEdit);
  $("delete-ok").addEventListener("click", confirmDelete);
  $("confirm-ok").addEventListener("click", () => confirming && publish(confirming.id, true, $("confirm-ok")));
}

export async function loadEvents() {
  const res = await api("GET", "/api/events");
  if (res.status !== 200 || !res.data) return errorText(res, "error.loadEvents");
  state.events = res.data.events || [];
  state.loaded = true;
  return null;
}

export function findEvent(id) { return state.events.find((e) => e.id === id) || null; }

function upsert(event) {
  const i = state.events.findIndex((e) => e.id === event.id);
  if (i >= 0) state.events[i] = { ...state.events[i], ...event };
  else state.events.unshift(event);
}

export function sizeText(event) {
  return event.max_participants === null ? t("event.unlimited")
    : t("event.upTo", { n: event.max_participants, size: formatNumber(event.max_participants) });
}

/* Renders the events matching ``clubId`` (null: personal) into ``list``. */
export function renderEventList(list, empty, clubId) {
  const focused = list.contains(document.activeElement) ? document.activeElement : null;
  const focusedId = focused && focused.closest(".event") && focused.closest(".event").dataset.eventId;
  const focusedAction = focused && focused.dataset.action;
  list.textContent = "";
  const rows = state.events.filter((e) => (e.club_id || null) === (clubId || null));
  empty.hidden = rows.length > 0 || !state.loaded;
  for (const event of rows) list.appendChild(eventRow(event));
  if (focusedId) {
    const row = list.querySelector(`.event[data-event-id="${CSS.escape(focusedId)}"]`);
    const target = row && (row.querySelector(`[data-action="${focusedAction}"]`) || row.querySelector(".event-title"));
    if (target) target.focus();
  }
}

/* Whether the caller may edit, publish or delete: a personal event is its owner's (the
 * list holds only the caller's own), a club event its club's owner's and admins'. */
function canManage(event) {
  if (!event.club_id) return true;
  const club = hooks.clubOf(event.club_id);
  return !!club && (club.role === "owner" || club.role === "admin");
}

function eventRow(event) {
  const published = !!event.published_at;
  const titleId = "event-title-" + event.id;
  const actions = el("div", { className: "actions-cell" });
  if (!canManage(event)) return readOnlyRow(event, titleId, actions);
  if (!published) {
    const publishButton = el("button", {
      type: "button", className: "button primary publish", "data-action": "publish",
      "aria-describedby": titleId, text: t("event.publish"),
    });
    publishButton.addEventListener("click", () => publish(event.id, false, publishButton));
    actions.appendChild(publishButton);
  }
  const editButton = el("button", {
    type: "button", className: "button small", "data-action": "edit", "aria-describedby": titleId,
    text: t("event.edit"),
  });
  editButton.addEventListener("click", () => openEdit(event, editButton));
  actions.appendChild(editButton);
  if (!published) {
    const deleteButton = el("button", {
      type: "button", className: "button small danger", "data-action": "delete",
      "aria-describedby": titleId, text: t("event.delete"),
    });
    deleteButton.addEventListener("click", () => openDelete(event, deleteButton));
    actions.appendChild(deleteButton);
  }
  return el("li", { className: "event", "data-event-id": event.id, "data-state": published ? "published" : "draft" }, [
    el("h3", { className: "event-title", id: titleId, tabindex: "-1", text: event.title }),
    actions,
    el("p", { className: "meta" }, [
      sizeText(event) + " · ",
      el("span", { className: "badge " + (published ? "published" : "draft"),
        text: t(published ? "event.published" : "event.draft") }),
      event.upgraded_by_credit ? " · " + t("event.usesUpgrade") : null,
    ]),
    el("p", { className: "row-error", role: "alert", hidden: true }),
  ]);
}

function readOnlyRow(event, titleId, actions) {
  return el("li", { className: "event", "data-event-id": event.id, "data-state": "published" }, [
    el("h3", { className: "event-title", id: titleId, tabindex: "-1", text: event.title }),
    actions,
    el("p", { className: "meta" }, [
      sizeText(event) + " · ",
      el("span", { className: "badge published", text: t("event.published") }),
    ]),
  ]);
}

function rowOf(id) { return document.querySelector(`.event[data-event-id="${CSS.escape(id)}"]`); }

function fallbackFocus(id) {
  const row = id && rowOf(id);
  return row ? (row.querySelector("button.publish") || row.querySelector(".event-title")) : $("main");
}

function showRowError(id, text) {
  const row = rowOf(id);
  if (row) showText(row.querySelector(".row-error"), text);
}

// ------------------------------------------------------------------ create

/* Reads a title and a participant limit from a form; shows field errors in place. */
export function readEventFields(titleInput, maxInput, errorNode) {
  const title = titleInput.value.trim();
  const maxText = maxInput.value.trim();
  [titleInput, maxInput].forEach((i) => i.removeAttribute("aria-invalid"));
  if (!title) return fail(titleInput, errorNode, t("field.title.empty"));
  let max = null;
  if (maxText) {
    // A whole number below 1 (0, -5) is a whole number that is too small, and says so.
    if (/^[-−]?\d+$/.test(maxText) && parseInt(maxText.replace("−", "-"), 10) < 1) {
      return fail(maxInput, errorNode, t("field.max.small"));
    }
    if (!/^\d+$/.test(maxText)) return fail(maxInput, errorNode, t("field.max.whole"));
    // Sizes are checked by the API, whose answer is put in words by fielderrors.js.
    max = Number(maxText);
  }
  showText(errorNode, "");
  return { title, max_participants: max };
}

function fail(input, errorNode, text) {
  input.setAttribute("aria-invalid", "true");
  showText(errorNode, text);
  input.focus();
  return null;
}

export function showApiFieldErrors(res, inputs, errorNode, fallbackKey) {
  const errors = fieldErrors(res);
  const fields = Object.keys(errors);
  for (const f of fields) if (inputs[f]) inputs[f].setAttribute("aria-invalid", "true");
  showText(errorNode, fields.length ? fields.map((f) => errors[f]).join(" ") : errorText(res, fallbackKey));
  const first = fields.find((f) => inputs[f]);
  if (first) inputs[first].focus();
}

export async function createEvent(fields, clubId) {
  const res = await api("POST", "/api/events", {
    body: { ...fields, club_id: clubId || null, is_paid: false },
  });
  if (res.status === 201 && res.data) {
    upsert(res.data);
    hooks.onChanged();
    announce(t("announce.draftCreated", { title: res.data.title }));
  }
  return res;
}

// ------------------------------------------------------------------ edit & delete

export function openEdit(event, trigger) {
  editing = event;
  $("edit-title").value = event.title;
  $("edit-max").value = event.max_participants === null ? "" : String(event.max_participants);
  showText($("edit-error"), "");
  $("edit-dialog")._fallbackFocus = () => fallbackFocus(event.id);
  closeModal($("paywall"), false);
  openModal($("edit-dialog"), trigger && !trigger.closest("dialog") ? trigger : fallbackFocus(event.id), $("edit-title"));
}

async function saveEdit(e) {
  e.preventDefault();
  if (!editing) return;
  const fields = readEventFields($("edit-title"), $("edit-max"), $("edit-error"));
  if (!fields) return;
  const submit = $("edit-form").querySelector('button[type="submit"]');
  submit.disabled = true;
  const res = await api("PATCH", "/api/events/" + encodeURIComponent(editing.id), { body: fields });
  submit.disabled = false;
  if (res.status === 200 && res.data) {
    upsert(res.data);
    closeModal($("edit-dialog"), true);
    hooks.onChanged();
    announce(t("announce.saved", { title: res.data.title }));
    return;
  }
  if (res.status === 402 && errorCode(res) === "PAYWALL") {
    showText($("edit-error"), t("error.editNeedsPlan"));
    return;
  }
  showApiFieldErrors(res, { title: $("edit-title"), max_participants: $("edit-max") }, $("edit-error"), "error.save");
}

function openDelete(event, trigger) {
  deleting = event;
  $("delete-message").textContent = t("delete.message", { title: event.title });
  showText($("delete-error"), "");
  $("delete-dialog")._fallbackFocus = () => $("main");
  openModal($("delete-dialog"), trigger, $("delete-cancel"));
}

async function confirmDelete() {
  if (!deleting) return;
  const event = deleting;
  const res = await api("DELETE", "/api/events/" + encodeURIComponent(event.id));
  if (res.status === 204 || res.status === 404) {
    state.events = state.events.filter((e) => e.id !== event.id);
    forget("event:" + event.id);
    closeModal($("delete-dialog"), false);
    hooks.onChanged();
    announce(t("announce.deleted", { title: event.title }));
    $("main").focus();
    return;
  }
  showText($("delete-error"), errorText(res, "error.delete"));
}

// ------------------------------------------------------------------ publish

export async function publish(eventId, confirmCredit, trigger) {
  const event = findEvent(eventId) || { id: eventId, title: "", max_participants: null };
  if (trigger) { trigger.disabled = true; trigger.setAttribute("aria-busy", "true"); }
  showRowError(eventId, "");
  const path = "/api/events/" + encodeURIComponent(eventId) + "/publish" + (confirmCredit ? "?confirm_credit=1" : "");
  let res;
  for (let tries = 3; ; tries--) {
    res = await api("POST", path);
    if (!(res.status === 409 && errorCode(res) === "PUBLISH_IN_PROGRESS" && tries > 0)) break;
    await delay(Math.min(parseInt(res.headers.get("Retry-After") || "1", 10) || 1, 5) * 1000);
  }
  if (trigger) { trigger.disabled = false; trigger.removeAttribute("aria-busy"); }
  const code = errorCode(res);
  const returnTo = trigger && !trigger.closest("dialog") ? trigger : fallbackFocus(eventId);
  if (res.status === 200 && res.data) {
    upsert({ ...event, published_at: res.data.published_at,
      upgraded_by_credit: event.upgraded_by_credit || res.data.credit_consumed });
    const wasOpen = openModalElement();
    closeAllModals(false);
    forget("event:" + eventId);
    hooks.onChanged();
    announce(t(res.data.credit_consumed ? "announce.publishedUpgrade" : "announce.published", { title: event.title }));
    if (wasOpen) fallbackFocus(eventId).focus();
  } else if (res.status === 402 && code === "PAYWALL") {
    closeModal($("confirm"), false);
    $("paywall")._fallbackFocus = () => fallbackFocus(eventId);
    const club = event.club_id ? hooks.clubOf(event.club_id) : null;
    openPaywall({ kind: "event", event, club }, res.data.error, returnTo);
  } else if (res.status === 409 && code === "CREDIT_CONFIRMATION_REQUIRED") {
    closeModal($("paywall"), false);
    confirming = event;
    const meta = res.data.error.meta || {};
    $("confirm-message").textContent = t("confirm.message", {
      title: event.title, n: meta.requested_participants || event.max_participants,
    });
    showText($("confirm-error"), "");
    $("confirm")._fallbackFocus = () => fallbackFocus(eventId);
    openModal($("confirm"), returnTo, $("confirm-cancel"));
  } else {
    const text = errorText(res, "error.publish");
    const open = openModalElement();
    if (open === $("confirm")) showText($("confirm-error"), text);
    else if (open === $("paywall")) showText($("paywall-error"), text);
    else showRowError(eventId, text);
  }
  return res;
}
