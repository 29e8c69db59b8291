/* The events page: events, credits, publish, and the paywall purchase.
 *
 * Plain JavaScript, no build step. Everything shown comes from the JSON API;
 * API text is only ever put into the page with textContent.
 *
 * Purchase flow: Publish -> 402 PAYWALL -> Buy (one Idempotency-Key per purchase
 * attempt, kept in localStorage so a retry or a reload reuses it) -> the Kaspi
 * link opens in a new tab -> the transaction status is polled at the interval
 * the API gives (``?poll_ms=`` overrides it, for tests) until it is completed,
 * failed, expired or refunded -> "Publish now" -> 409 -> confirm -> publish with
 * confirm_credit=1. A pending purchase is kept in localStorage too, so reloading
 * the page resumes watching it.
 */
(function () {
  "use strict";

  var KEYS = {
    token: "billing.web.token",
    pending: "billing.web.pendingPurchase",
    attempt: "billing.web.purchaseAttempt",
  };
  var TERMINAL = { completed: true, failed: true, expired: true, refunded: true };
  var MAX_BACKOFF_MS = 60000;
  var REQUEST_RETRIES = 3;

  var params = new URLSearchParams(window.location.search);
  var pollOverrideMs = parsePositiveInt(params.get("poll_ms"));
  if (pollOverrideMs !== null) pollOverrideMs = Math.max(50, pollOverrideMs);

  var state = {
    token: null,
    userId: null,
    events: [],
    catalog: null,
    available: {},
  };

  // The purchase being shown in the paywall (at most one at a time).
  var purchase = null;

  function $(id) { return document.getElementById(id); }

  function parsePositiveInt(text) {
    if (text === null || text === undefined || !/^\d+$/.test(String(text).trim())) return null;
    var n = parseInt(text, 10);
    return n > 0 ? n : null;
  }

  // ---------------------------------------------------------------- storage

  function load(key) {
    try {
      var raw = window.localStorage.getItem(key);
      return raw ? JSON.parse(raw) : null;
    } catch (e) {
      return null;
    }
  }

  function save(key, value) {
    try {
      if (value === null || value === undefined) window.localStorage.removeItem(key);
      else window.localStorage.setItem(key, JSON.stringify(value));
    } catch (e) { /* private mode: the page still works, it just can't resume */ }
  }

  // ---------------------------------------------------------------- helpers

  function newKey() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" +
      hex.slice(16, 20) + "-" + hex.slice(20);
  }

  /* {"amount": "15000.00", "currency": "KZT"} -> "15 000,00 ₸" (exact: the string is
   * regrouped, never parsed as a float). */
  function formatMoney(price) {
    if (!price || typeof price.amount !== "string") return "";
    var parts = price.amount.split(".");
    var whole = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, "\u00a0");
    var text = whole + (parts[1] ? "," + parts[1] : "");
    return price.currency === "KZT" ? text + "\u00a0\u20b8" : text + "\u00a0" + price.currency;
  }

  function plural(n, one, many) { return n + " " + (n === 1 ? one : many); }

  function decodeSubject(token) {
    try {
      var payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      while (payload.length % 4) payload += "=";
      var claims = JSON.parse(window.atob(payload));
      return { sub: claims.sub || null, name: claims.name || null };
    } catch (e) {
      return { sub: null, name: null };
    }
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "text") node.textContent = value;
      else if (name === "className") node.className = value;
      else node.setAttribute(name, value === true ? "" : value);
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function showText(node, text) {
    node.textContent = text || "";
    node.hidden = !text;
  }

  function announce(text) {
    var node = $("announcer");
    node.textContent = "";
    // A fresh text node after a tick so screen readers announce repeats too.
    window.setTimeout(function () { node.textContent = text; }, 30);
  }

  function errorMessage(res, fallback) {
    if (res.networkError) return "Could not reach the server. Check your connection and try again.";
    var err = res.data && res.data.error;
    return (err && err.message) || fallback || "Something went wrong (HTTP " + res.status + ").";
  }

  // ---------------------------------------------------------------- API

  function api(method, path, options) {
    options = options || {};
    var headers = { Accept: "application/json" };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (options.auth !== false && state.token) headers.Authorization = "Bearer " + state.token;
    Object.keys(options.headers || {}).forEach(function (k) { headers[k] = options.headers[k]; });
    return window.fetch(path, {
      method: method,
      headers: headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      cache: "no-store",
      credentials: "omit",
    }).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        return { status: response.status, ok: response.ok, data: data, headers: response.headers };
      });
    }, function () {
      return { status: 0, ok: false, data: null, networkError: true, headers: new Headers() };
    });
  }

  function errorCode(res) {
    return res.data && res.data.error ? res.data.error.code : null;
  }

  /* Any 401 means the token is gone or expired: back to the sign-in form. */
  function handleUnauthenticated(res) {
    if (res.status !== 401) return false;
    signOut("Your session has ended. Please sign in again.");
    return true;
  }

  // ---------------------------------------------------------------- sign-in

  function setToken(token) {
    state.token = token;
    var who = decodeSubject(token);
    state.userId = who.sub;
    save(KEYS.token, token);
  }

  function signOut(message) {
    stopPolling();
    closeAllModals(false);
    state.token = null;
    state.userId = null;
    save(KEYS.token, null);
    purchase = null;
    renderSignedOut(message);
  }

  function renderSignedOut(message) {
    $("workspace").hidden = true;
    $("session").hidden = true;
    $("signin").hidden = false;
    showText($("signin-message"), message || "");
    var first = $("demo-signin") || $("token-input");
    if (first) first.focus();
  }

  function signInAsDemo(event) {
    var button = event.currentTarget;
    button.disabled = true;
    api("POST", "/api/dev/token", { auth: false, body: {} }).then(function (res) {
      button.disabled = false;
      if (res.status !== 200 || !res.data || !res.data.token) {
        showText($("signin-message"), errorMessage(res, "The demo sign-in is not available."));
        return;
      }
      setToken(res.data.token);
      startSignedIn(true);
    });
  }

  function signInWithToken(event) {
    event.preventDefault();
    var token = $("token-input").value.trim().replace(/^Bearer\s+/i, "");
    if (!token) {
      showText($("signin-message"), "Paste an access token first.");
      $("token-input").focus();
      return;
    }
    setToken(token);
    $("token-input").value = "";
    startSignedIn(true);
  }

  function startSignedIn(moveFocus) {
    $("signin").hidden = true;
    $("workspace").hidden = false;
    $("session").hidden = false;
    $("session-user").textContent = "Signed in as " + (state.userId || "unknown user");
    if (moveFocus) $("main").focus();
    loadCatalog();
    Promise.all([loadEvents(), loadCredits()]).then(function () {
      resumePendingPurchase();
    });
  }

  // ---------------------------------------------------------------- catalog & credits

  function loadCatalog() {
    if (state.catalog) return Promise.resolve(state.catalog);
    return api("GET", "/api/billing/products", { auth: false }).then(function (res) {
      if (res.status === 200 && res.data) {
        state.catalog = res.data;
        renderLimitsHint();
      }
      return state.catalog;
    });
  }

  function catalogProduct(code) {
    var list = (state.catalog && state.catalog.products) || [];
    for (var i = 0; i < list.length; i++) if (list[i].code === code) return list[i];
    return null;
  }

  function catalogPlan(id) {
    var list = (state.catalog && state.catalog.plans) || [];
    for (var i = 0; i < list.length; i++) if (list[i].id === id) return list[i];
    return null;
  }

  function renderLimitsHint() {
    var free = catalogPlan("free");
    var upgrade = null;
    ((state.catalog && state.catalog.products) || []).forEach(function (p) {
      if (!upgrade && p.type === "credit") upgrade = p;
    });
    var parts = [];
    if (free && free.max_event_participants) {
      parts.push("Events for up to " + free.max_event_participants + " participants publish for free.");
    }
    if (upgrade && upgrade.constraints && upgrade.constraints.max_participants) {
      parts.push("Up to " + upgrade.constraints.max_participants + " with an event upgrade (" +
        formatMoney(upgrade.price) + " each).");
    }
    $("limits-hint").textContent = parts.join(" ");
  }

  function loadCredits() {
    return api("GET", "/api/billing/credits").then(function (res) {
      if (handleUnauthenticated(res)) return;
      var summary = $("credits-summary");
      if (res.status !== 200 || !res.data) {
        summary.textContent = "Could not load your upgrades. " + errorMessage(res);
        return;
      }
      state.available = res.data.available || {};
      var total = 0;
      Object.keys(state.available).forEach(function (code) { total += state.available[code]; });
      var used = (res.data.credits || []).filter(function (c) { return c.status === "consumed"; });
      summary.setAttribute("data-available", String(total));
      summary.textContent = "You have " + plural(total, "event upgrade", "event upgrades") +
        " available" + (used.length ? " (" + used.length + " used)." : ".");
    });
  }

  // ---------------------------------------------------------------- events

  function eventsFrom(data) {
    if (Array.isArray(data)) return data;
    if (data && Array.isArray(data.events)) return data.events;
    if (data && Array.isArray(data.items)) return data.items;
    return [];
  }

  function loadEvents() {
    return api("GET", "/api/events").then(function (res) {
      if (handleUnauthenticated(res)) return;
      if (res.status !== 200) {
        showText($("page-error"), "Could not load your events. " + errorMessage(res));
        return;
      }
      showText($("page-error"), "");
      state.events = eventsFrom(res.data);
      renderEvents();
    });
  }

  function findEvent(id) {
    for (var i = 0; i < state.events.length; i++) if (state.events[i].id === id) return state.events[i];
    return null;
  }

  function upsertEvent(event) {
    for (var i = 0; i < state.events.length; i++) {
      if (state.events[i].id === event.id) {
        state.events[i] = event;
        return;
      }
    }
    state.events.unshift(event);
  }

  function participantsText(event) {
    return event.max_participants === null || event.max_participants === undefined
      ? "No participant limit"
      : "Up to " + event.max_participants + " participants";
  }

  function renderEvents() {
    var list = $("events-list");
    // Re-rendering replaces the rows: keep focus on the same row if it was in one.
    var focused = list.contains(document.activeElement) ? document.activeElement : null;
    var focusedRow = focused && focused.closest(".event");
    var focusedId = focusedRow && focusedRow.getAttribute("data-event-id");
    var focusedPublish = !!(focused && focused.classList.contains("publish"));
    list.textContent = "";
    $("events-empty").hidden = state.events.length > 0;
    state.events.forEach(function (event) {
      var published = !!event.published_at;
      var titleId = "event-title-" + event.id;
      var meta = el("p", { className: "meta" }, [
        participantsText(event) + " · ",
        el("span", { className: "badge " + (published ? "published" : "draft"),
                     text: published ? "Published" : "Draft" }),
        event.upgraded_by_credit ? " · uses an event upgrade" : null,
      ]);
      var actions = el("div", { className: "actions-cell" });
      if (!published) {
        var button = el("button", {
          type: "button", className: "button primary publish", "data-event-id": event.id,
          "aria-describedby": titleId,
        }, ["Publish"]);
        button.addEventListener("click", function () { publish(event.id, false, button); });
        actions.appendChild(button);
      }
      var item = el("li", {
        className: "event", "data-event-id": event.id,
        "data-state": published ? "published" : "draft",
      }, [
        el("h3", { className: "event-title", id: titleId, tabindex: "-1", text: event.title }),
        actions,
        meta,
        el("p", { className: "row-error", role: "alert", hidden: true }),
      ]);
      list.appendChild(item);
    });
    if (focusedId) {
      var row = eventRow(focusedId);
      var target = row && ((focusedPublish && row.querySelector("button.publish")) ||
        row.querySelector(".event-title"));
      (target || $("events-title")).focus();
    }
  }

  function eventRow(id) {
    return document.querySelector('.event[data-event-id="' + CSS.escape(id) + '"]');
  }

  function showRowError(id, text) {
    var row = eventRow(id);
    if (row) showText(row.querySelector(".row-error"), text);
    else showText($("page-error"), text);
  }

  /* Where focus goes when a dialog closes and its trigger is gone (e.g. the
   * Publish button of an event that is now published). */
  function fallbackFocus(eventId) {
    var row = eventId && eventRow(eventId);
    if (row) {
      var button = row.querySelector("button.publish");
      return button && !button.disabled ? button : row.querySelector(".event-title");
    }
    return $("events-title");
  }

  function createEvent(e) {
    e.preventDefault();
    var form = e.currentTarget;
    var error = $("create-error");
    var title = $("event-title").value.trim();
    var maxText = $("event-max").value.trim();
    var maxParticipants = null;
    if (!title) {
      showText(error, "Enter a title.");
      $("event-title").setAttribute("aria-invalid", "true");
      $("event-title").focus();
      return;
    }
    $("event-title").removeAttribute("aria-invalid");
    if (maxText) {
      maxParticipants = parsePositiveInt(maxText);
      if (maxParticipants === null) {
        showText(error, "Max participants must be a whole number of at least 1, or empty.");
        $("event-max").setAttribute("aria-invalid", "true");
        $("event-max").focus();
        return;
      }
    }
    $("event-max").removeAttribute("aria-invalid");
    showText(error, "");
    var submit = form.querySelector('button[type="submit"]');
    submit.disabled = true;
    api("POST", "/api/events", {
      body: { title: title, max_participants: maxParticipants, is_paid: false },
    }).then(function (res) {
      submit.disabled = false;
      if (handleUnauthenticated(res)) return;
      if (res.status !== 201 && res.status !== 200) {
        var details = res.data && res.data.error && res.data.error.details;
        var text = errorMessage(res, "Could not create the event.");
        if (Array.isArray(details) && details.length) {
          text += " " + details.map(function (d) { return d.field + ": " + d.message; }).join("; ");
        }
        showText(error, text);
        return;
      }
      upsertEvent(res.data);
      renderEvents();
      form.reset();
      announce("Draft “" + res.data.title + "” created.");
      $("event-title").focus();
    });
  }

  // ---------------------------------------------------------------- publish

  /* One publish request and what the page does with each answer. */
  function publish(eventId, confirmCredit, trigger) {
    var event = findEvent(eventId) || { id: eventId, title: "this event" };
    if (trigger) {
      trigger.disabled = true;
      trigger.setAttribute("aria-busy", "true");
    }
    showRowError(eventId, "");
    var path = "/api/events/" + encodeURIComponent(eventId) + "/publish" +
      (confirmCredit ? "?confirm_credit=1" : "");

    // Another publish of the same owner is running: wait as told and try again.
    function attempt(triesLeft) {
      return api("POST", path).then(function (res) {
        if (res.status === 409 && errorCode(res) === "PUBLISH_IN_PROGRESS" && triesLeft > 0) {
          var wait = parsePositiveInt(res.headers.get("Retry-After")) || 1;
          return delay(Math.min(wait, 5) * 1000).then(function () { return attempt(triesLeft - 1); });
        }
        return res;
      });
    }

    return attempt(REQUEST_RETRIES).then(function (res) {
      if (trigger) {
        trigger.disabled = false;
        trigger.removeAttribute("aria-busy");
      }
      if (handleUnauthenticated(res)) return res;
      var code = errorCode(res);
      if (res.status === 200) {
        onPublished(event, res.data);
      } else if (res.status === 402 && code === "PAYWALL") {
        closeModal($("confirm"), false);
        openPaywall(event, res.data.error, returnTarget(trigger, eventId));
      } else if (res.status === 409 && code === "CREDIT_CONFIRMATION_REQUIRED") {
        closeModal($("paywall"), false);
        openConfirm(event, res.data.error, returnTarget(trigger, eventId));
      } else {
        var text = errorMessage(res, "Could not publish the event.");
        var open = openModalElement();
        if (open === $("confirm")) showText($("confirm-error"), text);
        else if (open === $("paywall")) showText($("paywall-error"), text);
        else showRowError(eventId, text);
      }
      return res;
    });
  }

  /* Buttons inside a dialog are not where focus should return to. */
  function returnTarget(trigger, eventId) {
    if (trigger && !trigger.closest("dialog")) return trigger;
    var open = openModalElement();
    return (open && open._returnFocus) || fallbackFocus(eventId);
  }

  function onPublished(event, data) {
    var wasOpen = openModalElement();
    event.published_at = data.published_at;
    if (data.credit_consumed) event.upgraded_by_credit = true;
    upsertEvent(event);
    renderEvents();
    closeAllModals(false);
    if (purchase && purchase.eventId === event.id) clearPurchase();
    var text = data.already_published
      ? "“" + event.title + "” was already published."
      : "“" + event.title + "” is published" + (data.credit_consumed ? " (1 event upgrade used)." : ".");
    announce(text);
    if (wasOpen) fallbackFocus(event.id).focus();
    loadCredits();
    loadEvents();
  }

  // ---------------------------------------------------------------- dialogs

  function openModalElement() {
    var open = document.querySelectorAll("dialog[open]");
    return open.length ? open[open.length - 1] : null;
  }

  function openModal(dialog, returnFocus, focusTarget) {
    dialog._returnFocus = returnFocus || document.activeElement;
    if (!dialog.open) dialog.showModal();
    (focusTarget || dialog.querySelector("h2")).focus();
  }

  function closeModal(dialog, restoreFocus) {
    if (!dialog.open) return;
    dialog.close();
    if (dialog === $("paywall")) onPaywallClosed();
    if (restoreFocus === false) return;
    var target = dialog._returnFocus;
    if (!target || !target.isConnected || target.disabled || target.closest("[hidden]")) {
      target = fallbackFocus(dialog._eventId);
    }
    if (target) target.focus();
  }

  function closeAllModals(restoreFocus) {
    closeModal($("confirm"), restoreFocus);
    closeModal($("paywall"), restoreFocus);
  }

  function wireDialog(dialog) {
    // Escape: the browser fires "cancel"; close through our path so focus returns.
    dialog.addEventListener("cancel", function (e) {
      e.preventDefault();
      closeModal(dialog, true);
    });
    dialog.addEventListener("keydown", function (e) {
      if (e.key === "Escape") {
        e.preventDefault();
        closeModal(dialog, true);
      }
    });
    dialog.addEventListener("click", function (e) {
      var target = e.target;
      if (target === dialog) {
        // A click on the backdrop (outside the dialog box) closes it.
        var r = dialog.getBoundingClientRect();
        var inside = e.clientX >= r.left && e.clientX <= r.right &&
          e.clientY >= r.top && e.clientY <= r.bottom;
        if (!inside) closeModal(dialog, true);
        return;
      }
      if (target.closest("[data-close]")) closeModal(dialog, true);
    });
  }

  // ---------------------------------------------------------------- the paywall

  function openPaywall(event, error, returnFocus) {
    var dialog = $("paywall");
    if (purchase && purchase.txId && !purchase.terminal && purchase.eventId !== event.id) {
      // One purchase at a time: show the one in progress instead.
      showPurchase(returnFocus);
      return;
    }
    if (!purchase || purchase.eventId !== event.id || purchase.terminal) {
      stopPolling();
      purchase = { eventId: event.id, eventTitle: event.title };
    }
    purchase.paywall = error;
    dialog._eventId = event.id;
    $("paywall-title").textContent = "Upgrade to publish";
    $("paywall-event").textContent = "“" + event.title + "” · " + participantsText(event);
    $("paywall-message").textContent = error.message ||
      "Publishing this event needs an upgrade.";
    showText($("paywall-error"), "");
    if (purchase.txId && !purchase.terminal) {
      renderProgress();
    } else {
      renderOptions(error.options || []);
    }
    openModal(dialog, returnFocus);
  }

  function renderOptions(options) {
    $("paywall-choose").hidden = false;
    $("paywall-progress").hidden = true;
    var list = $("paywall-options");
    list.textContent = "";
    if (!options.length) {
      list.appendChild(el("li", { className: "option" }, [
        el("p", { text: "There is no way to buy access for this event here." }),
      ]));
    }
    options.forEach(function (option, index) {
      list.appendChild(option.type === "ONE_OFF_CREDIT"
        ? creditOption(option, index)
        : option.type === "CLUB_ACCESS"
          ? clubOption(option, index)
          : el("li", { className: "option" }, [el("p", { text: option.type })]));
    });
  }

  function creditOption(option, index) {
    var product = catalogProduct(option.product_code);
    var title = product ? product.title : "Event upgrade";
    var limit = product && product.constraints && product.constraints.max_participants;
    var price = formatMoney(option.price);
    var titleId = "option-title-" + index;
    var button = el("button", {
      type: "button", className: "button primary buy", "data-product-code": option.product_code,
      "aria-describedby": titleId,
    }, ["Buy for " + price]);
    button.addEventListener("click", function () { buy(option, button); });
    return el("li", {
      className: "option recommended", "data-option": option.type,
      "data-amount": option.price && option.price.amount,
      "data-currency": option.price && option.price.currency,
    }, [
      el("h3", { id: titleId }, [
        el("span", { text: title }),
        el("span", { className: "price", text: price }),
      ]),
      el("p", {
        text: "One-off: publish this personal event" +
          (limit ? " for up to " + limit + " participants" : "") + ". Paid with Kaspi.",
      }),
      button,
    ]);
  }

  function clubOption(option, index) {
    var plan = catalogPlan(option.recommended_plan_id);
    var title = plan ? plan.title : "Club plan " + option.recommended_plan_id;
    var price = formatMoney(option.price);
    var noteId = "option-note-" + index;
    var limits = [];
    if (plan) {
      limits.push(plan.max_event_participants
        ? "events up to " + plan.max_event_participants + " participants"
        : "events of any size");
      limits.push(plan.max_members ? "up to " + plan.max_members + " members" : "unlimited members");
      if (plan.paid_events) limits.push("paid events");
    }
    var children = [
      el("h3", {}, [
        el("span", { text: title }),
        el("span", { className: "price" }, [
          price,
          plan ? el("span", { className: "per", text: " / " + plan.period_days + " days" }) : null,
        ]),
      ]),
      limits.length ? el("p", { text: "Club subscription: " + limits.join(", ") + "." }) : null,
      el("p", {
        className: "hint", id: noteId,
        text: "Club plans are bought by a club owner for a club, and cover that club's events. " +
          "This event is personal, so the plan can't be bought from here.",
      }),
      el("button", { type: "button", className: "button", disabled: true, "aria-describedby": noteId },
        ["Buy club plan"]),
    ];
    return el("li", {
      className: "option", "data-option": option.type,
      "data-amount": option.price && option.price.amount,
    }, children);
  }

  /* The Idempotency-Key of this purchase attempt: created once, reused by every
   * retry of the same attempt (also after a reload), dropped when the attempt is
   * over (the transaction settled, or the API refused the request for good). */
  function attemptKey(productCode, eventId) {
    var attempt = load(KEYS.attempt);
    if (attempt && attempt.user === state.userId && attempt.product_code === productCode &&
        attempt.event_id === eventId && attempt.key) {
      return attempt.key;
    }
    var key = newKey();
    save(KEYS.attempt, { user: state.userId, product_code: productCode, event_id: eventId, key: key });
    return key;
  }

  function setBuyButtonsDisabled(disabled) {
    Array.prototype.forEach.call(document.querySelectorAll("#paywall-options .buy"), function (b) {
      b.disabled = disabled;
    });
  }

  /* Opened in the click itself so popup blockers allow it; pointed at Kaspi once the
   * API has answered. If it is blocked, the link in the dialog does the same. */
  function openPaymentWindow() {
    var win = null;
    try { win = window.open("", "_blank"); } catch (e) { win = null; }
    if (win) {
      try {
        win.opener = null;
        win.document.title = "Opening Kaspi…";
        win.document.body.textContent = "Opening the Kaspi payment page…";
      } catch (e) { /* nothing to do */ }
    }
    return win;
  }

  function buy(option, button) {
    if (!purchase || purchase.inFlight) return;
    purchase.inFlight = true;
    setBuyButtonsDisabled(true);
    button.setAttribute("aria-busy", "true");
    var label = button.textContent;
    button.textContent = "Creating payment…";
    showText($("paywall-error"), "");
    var productCode = option.product_code;
    var key = attemptKey(productCode, purchase.eventId);
    var win = openPaymentWindow();
    var current = purchase;

    function attempt(triesLeft) {
      return api("POST", "/api/billing/purchase-intent", {
        body: { product_code: productCode, quantity: 1 },
        headers: { "Idempotency-Key": key },
      }).then(function (res) {
        var code = errorCode(res);
        var retryable = res.networkError || res.status >= 500 ||
          (res.status === 409 && code === "IDEMPOTENCY_KEY_IN_USE");
        if (retryable && triesLeft > 0) {
          var wait = parsePositiveInt(res.headers.get("Retry-After"));
          return delay(wait ? wait * 1000 : 700).then(function () { return attempt(triesLeft - 1); });
        }
        return res;
      });
    }

    attempt(REQUEST_RETRIES).then(function (res) {
      current.inFlight = false;
      button.removeAttribute("aria-busy");
      button.textContent = label;
      if (purchase !== current) {
        if (win) win.close();
        return;
      }
      if (handleUnauthenticated(res)) {
        if (win) win.close();
        return;
      }
      if (res.status === 201 && res.data && res.data.transaction_id) {
        startTracking(res.data);
        if (res.data.payment && res.data.payment.payment_url && win && !win.closed) {
          win.location.href = res.data.payment.payment_url;
        } else if (win) {
          win.close();
        }
        return;
      }
      if (win) win.close();
      var code = errorCode(res);
      // Refused for good: the next press is a new attempt with a new key. A
      // temporary failure (503, network) keeps the key: pressing again retries it.
      var temporary = res.networkError || res.status >= 500 || code === "IDEMPOTENCY_KEY_IN_USE";
      if (!temporary) save(KEYS.attempt, null);
      showText($("paywall-error"), errorMessage(res, "Could not start the payment.") +
        (temporary ? " Nothing was charged; you can try again." : ""));
      setBuyButtonsDisabled(false);
      button.focus();
    });
  }

  function delay(ms) {
    return new Promise(function (resolve) { window.setTimeout(resolve, ms); });
  }

  // ---------------------------------------------------------------- tracking a purchase

  function startTracking(intent) {
    purchase.txId = intent.transaction_id;
    purchase.status = intent.status || "pending";
    purchase.amount = { amount: intent.amount, currency: intent.currency };
    purchase.paymentUrl = intent.payment && intent.payment.payment_url;
    purchase.pollIntervalS = (intent.payment && intent.payment.poll_interval_s) || 5;
    purchase.terminal = false;
    purchase.errors = 0;
    persistPending();
    renderProgress();
    $("payment-status").focus();
    announce("Payment created. Complete it on the Kaspi page, then come back here.");
    schedulePoll(baseIntervalMs());
  }

  function persistPending() {
    save(KEYS.pending, {
      user: state.userId,
      event_id: purchase.eventId,
      event_title: purchase.eventTitle,
      transaction_id: purchase.txId,
      payment_url: purchase.paymentUrl,
      poll_interval_s: purchase.pollIntervalS,
      amount: purchase.amount,
    });
  }

  /* The API's poll_interval_s; ?poll_ms= may only make it shorter (tests use it). */
  function baseIntervalMs() {
    var apiMs = Math.max(1, purchase.pollIntervalS || 5) * 1000;
    return pollOverrideMs !== null ? Math.min(pollOverrideMs, apiMs) : apiMs;
  }

  function schedulePoll(ms) {
    stopPolling();
    var current = purchase;
    current.timer = window.setTimeout(function () { poll(current); }, ms);
  }

  function stopPolling() {
    if (purchase && purchase.timer) {
      window.clearTimeout(purchase.timer);
      purchase.timer = null;
    }
  }

  function poll(current) {
    current.timer = null;
    if (purchase !== current || current.terminal) return;
    var path = "/api/billing/transactions/status?transaction_id=" + encodeURIComponent(current.txId);
    api("GET", path).then(function (res) {
      if (purchase !== current || current.terminal) return;
      if (handleUnauthenticated(res)) return;
      if (res.status === 200 && res.data) {
        current.errors = 0;
        current.problem = null;
        if (res.data.poll_interval_s) current.pollIntervalS = res.data.poll_interval_s;
        setStatus(res.data.status);
        if (!current.terminal) schedulePoll(baseIntervalMs());
        return;
      }
      if (res.status === 404) {
        current.terminal = true;
        current.status = "error";
        current.problem = "This payment could not be found any more.";
        save(KEYS.pending, null);
        save(KEYS.attempt, null);
        renderProgress();
        return;
      }
      // The server or the network failed: keep the purchase, back off, try again.
      current.errors += 1;
      var wait = Math.min(baseIntervalMs() * Math.pow(2, current.errors), MAX_BACKOFF_MS);
      current.problem = "Can't check the payment right now (" +
        (res.networkError ? "no connection" : "HTTP " + res.status) + "). Retrying in " +
        Math.ceil(wait / 1000) + " s.";
      renderProgress();
      schedulePoll(wait);
    });
  }

  function setStatus(status) {
    var changed = purchase.status !== status;
    purchase.status = status;
    if (TERMINAL[status]) {
      purchase.terminal = true;
      save(KEYS.pending, null);
      save(KEYS.attempt, null);
    }
    renderProgress();
    if (!changed) return;
    var text = statusText(status).title;
    announce(text);
    if (status === "completed") {
      loadCredits();
      var dialog = $("paywall");
      if (dialog.open && dialog.contains(document.activeElement)) $("publish-now").focus();
    }
  }

  function statusText(status) {
    switch (status) {
      case "pending":
        return {
          title: "Waiting for payment…",
          detail: "Pay in the Kaspi tab. This updates by itself; you can close this window and come back.",
        };
      case "completed":
        return {
          title: "Paid",
          detail: "Your event upgrade is ready. Publish the event now to use it.",
        };
      case "failed":
        return {
          title: "Payment failed",
          detail: "The payment was declined or did not go through. No money was taken and no upgrade was added.",
        };
      case "expired":
        return {
          title: "Payment expired",
          detail: "The payment link expired before it was paid. No money was taken.",
        };
      case "refunded":
        return { title: "Payment refunded", detail: "This payment was refunded." };
      case "error":
        return { title: "Payment not found", detail: "" };
      default:
        return { title: "Payment status unknown", detail: "" };
    }
  }

  function renderProgress() {
    if (!purchase || !purchase.txId) return;
    $("paywall-choose").hidden = true;
    $("paywall-progress").hidden = false;
    var box = $("payment-status");
    var status = purchase.status || "pending";
    var text = statusText(status);
    box.setAttribute("data-state", status);
    $("payment-status-title").textContent = text.title;
    $("payment-status-detail").textContent = purchase.problem || text.detail;
    $("payment-amount").textContent = formatMoney(purchase.amount);
    $("payment-tx").textContent = purchase.txId;
    var link = $("payment-link");
    var canPay = status === "pending" && !!purchase.paymentUrl;
    $("payment-link-row").hidden = !canPay;
    if (canPay) link.href = purchase.paymentUrl;
    $("paywall-title").textContent = status === "completed" ? "Payment received" : "Upgrade to publish";
    $("publish-now").hidden = !(status === "completed" && purchase.eventId);
    $("try-again").hidden = !(status === "failed" || status === "expired" || status === "error");
    renderBanner();
  }

  function renderBanner() {
    var banner = $("purchase-banner");
    var dialogOpen = $("paywall").open;
    if (!purchase || !purchase.txId || dialogOpen ||
        (purchase.terminal && purchase.status !== "completed")) {
      banner.hidden = true;
      return;
    }
    var title = purchase.eventTitle ? " for “" + purchase.eventTitle + "”" : "";
    $("purchase-banner-text").textContent = purchase.status === "completed"
      ? "Payment received" + title + ". You can publish it now."
      : "Payment in progress" + title + ": waiting for Kaspi.";
    banner.hidden = false;
  }

  function showPurchase(returnFocus) {
    var dialog = $("paywall");
    dialog._eventId = purchase.eventId;
    var event = findEvent(purchase.eventId);
    $("paywall-event").textContent = event
      ? "“" + event.title + "” · " + participantsText(event)
      : (purchase.eventTitle ? "“" + purchase.eventTitle + "”" : "");
    $("paywall-message").textContent = "";
    showText($("paywall-error"), "");
    renderProgress();
    openModal(dialog, returnFocus || fallbackFocus(purchase.eventId));
    renderBanner();
  }

  function onPaywallClosed() {
    if (purchase && purchase.terminal && purchase.status !== "completed") clearPurchase();
    renderBanner();
  }

  function clearPurchase() {
    stopPolling();
    purchase = null;
    save(KEYS.pending, null);
    $("purchase-banner").hidden = true;
  }

  function tryAgain() {
    var paywall = purchase && purchase.paywall;
    var event = purchase && (findEvent(purchase.eventId) ||
      { id: purchase.eventId, title: purchase.eventTitle });
    stopPolling();
    if (paywall) {
      purchase = { eventId: event.id, eventTitle: event.title, paywall: paywall };
      $("paywall-title").textContent = "Upgrade to publish";
      $("paywall-message").textContent = paywall.message || "";
      renderOptions(paywall.options || []);
      renderBanner();
      $("paywall-title").focus();
      return;
    }
    // After a reload the options are not known: ask the API again.
    var returnFocus = $("paywall")._returnFocus;
    purchase = null;
    closeModal($("paywall"), false);
    if (event) publish(event.id, false, null).then(function () {
      if ($("paywall").open) $("paywall")._returnFocus = returnFocus;
    });
  }

  function publishNow() {
    if (!purchase || !purchase.eventId) return;
    publish(purchase.eventId, false, $("publish-now"));
  }

  /* After a reload: the purchase kept in localStorage is shown and watched again. */
  function resumePendingPurchase() {
    var saved = load(KEYS.pending);
    if (!saved || !saved.transaction_id) return;
    if (saved.user !== state.userId) {
      save(KEYS.pending, null);
      return;
    }
    var event = findEvent(saved.event_id);
    purchase = {
      eventId: saved.event_id,
      eventTitle: (event && event.title) || saved.event_title,
      txId: saved.transaction_id,
      paymentUrl: saved.payment_url,
      pollIntervalS: saved.poll_interval_s,
      amount: saved.amount,
      status: "pending",
      terminal: false,
      errors: 0,
    };
    showPurchase(fallbackFocus(saved.event_id));
    poll(purchase);
  }

  // ---------------------------------------------------------------- the confirmation

  var confirmState = null;

  function openConfirm(event, error, returnFocus) {
    var meta = error.meta || {};
    var code = meta.credit_code || "EVENT_UPGRADE_500";
    var available = state.available[code];
    var product = catalogProduct(code);
    confirmState = { eventId: event.id };
    var dialog = $("confirm");
    dialog._eventId = event.id;
    var participants = meta.requested_participants || event.max_participants;
    $("confirm-message").textContent =
      "This will use 1 event upgrade" + (product ? " (" + product.title + ")" : "") +
      " to publish “" + event.title + "”" +
      (participants ? " for up to " + participants + " participants" : "") + "." +
      (typeof available === "number" ? " You have " + available + " available." : "");
    showText($("confirm-error"), "");
    $("confirm-ok").disabled = false;
    openModal(dialog, returnFocus, $("confirm-cancel"));
  }

  function confirmPublish() {
    if (!confirmState) return;
    var button = $("confirm-ok");
    if (button.disabled) return;
    publish(confirmState.eventId, true, button);
  }

  // ---------------------------------------------------------------- start

  function init() {
    wireDialog($("paywall"));
    wireDialog($("confirm"));
    var demo = $("demo-signin");
    if (demo) demo.addEventListener("click", signInAsDemo);
    $("token-form").addEventListener("submit", signInWithToken);
    $("sign-out").addEventListener("click", function () { signOut(""); });
    $("create-form").addEventListener("submit", createEvent);
    $("publish-now").addEventListener("click", publishNow);
    $("try-again").addEventListener("click", tryAgain);
    $("confirm-ok").addEventListener("click", confirmPublish);
    $("purchase-banner-show").addEventListener("click", function (e) {
      if (purchase) showPurchase(e.currentTarget);
    });

    var token = load(KEYS.token);
    if (token) {
      setToken(token);
      startSignedIn(false);
    } else {
      renderSignedOut("");
    }
  }

  init();
})();
