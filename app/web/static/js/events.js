// @ts-check
/* Events: the list (personal ones on the home page, a club's on its page),
 * creating drafts, editing and deleting them. Publishing, and enlarging a published
 * event, with what each needs, are publishing.js's (given here as hooks). */
import { api, errorCode } from "./api.js";
import { $, announce, closeModal, el, openModal, showText } from "./dom.js";
import { errorText, fieldErrors } from "./fielderrors.js";
import { formatNumber, t } from "./i18n.js";
import { forget } from "./store.js";

// ``loaded``: the list came from the server at least once (an empty list then means none).
export const state = { events: [], loaded: false };
/** @type {Record<string, (...args: any[]) => any>} */
let hooks = { clubOf() { return null; }, onChanged() {}, onPublish() {}, async resizeFirst() { return false; } };
let editing = null;
let deleting = null;

export function eventHooks() { return hooks; }

export function initEvents(callbacks) {
  hooks = { ...hooks, ...callbacks };
  $("edit-form").addEventListener("submit", saveEdit);
  $("delete-ok").addEventListener("click", confirmDelete);
}

export async function loadEvents() {
  const res = await api("GET", "/api/events");
  if (res.status !== 200 || !res.data) return errorText(res, "error.loadEvents");
  state.events = res.data.events || [];
  state.loaded = true;
  return null;
}

export function findEvent(id) { return state.events.find((e) => e.id === id) || null; }

export function upsert(event) {
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
  const active = /** @type {HTMLElement | null} */ (document.activeElement);
  const focused = list.contains(active) ? active : null;
  const focusedId = focused && focused.closest(".event") && /** @type {HTMLElement} */ (focused.closest(".event")).dataset.eventId;
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
    publishButton.addEventListener("click", () => hooks.onPublish(event.id, false, publishButton));
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

export function fallbackFocus(id) {
  const row = id && rowOf(id);
  return row ? (row.querySelector("button.publish") || row.querySelector(".event-title")) : $("main");
}

export function showRowError(id, text) {
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
  // A published event resized: what that needs is asked first (a paywall or a confirmation).
  if (await hooks.resizeFirst(editing, fields)) { submit.disabled = false; return; }
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
