// @ts-check
/* Small DOM helpers and the modal dialogs. API text only ever reaches the page
 * through textContent. */

/**
 * Any element of the page: what it is (input, dialog, form) is the template's to say,
 * so the type check leaves its properties alone.
 * @param {string} id
 * @returns {any}
 */
export function $(id) { return document.getElementById(id); }

export function el(tag, attrs, children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name === "className") node.className = value;
    else if (name === "onClick") node.addEventListener("click", value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children || []) {
    if (child === null || child === undefined || child === false) continue;
    node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

export function showText(node, text) {
  node.textContent = text || "";
  node.hidden = !text;
}

export function announce(text) {
  const node = $("announcer");
  node.textContent = "";
  // Set after a tick so a repeated message is announced again.
  window.setTimeout(() => { node.textContent = text; }, 30);
}

export function delay(ms) {
  return new Promise((resolve) => window.setTimeout(resolve, ms));
}

// ------------------------------------------------------------------ dialogs

export function openModalElement() {
  const open = document.querySelectorAll("dialog[open]");
  return open.length ? open[open.length - 1] : null;
}

export function openModal(dialog, returnFocus, focusTarget) {
  dialog._returnFocus = returnFocus || document.activeElement;
  if (!dialog.open) dialog.showModal();
  (focusTarget || dialog.querySelector("h2")).focus();
}

/* Closes the dialog; focus goes back where it came from, or to ``fallback()``
 * when that element is gone (e.g. the Publish button of a now published event). */
export function closeModal(dialog, restoreFocus) {
  if (!dialog.open) return;
  dialog.close();
  dialog.dispatchEvent(new CustomEvent("closed"));
  if (restoreFocus === false) return;
  let target = dialog._returnFocus;
  if (!target || !target.isConnected || target.disabled || target.closest("[hidden]")) {
    target = dialog._fallbackFocus ? dialog._fallbackFocus() : $("main");
  }
  if (target) target.focus();
}

export function closeAllModals(restoreFocus) {
  document.querySelectorAll("dialog[open]").forEach((d) => closeModal(d, restoreFocus));
}

export function wireDialog(dialog) {
  // Escape: the browser fires "cancel"; close through our path so focus returns.
  dialog.addEventListener("cancel", (e) => {
    e.preventDefault();
    closeModal(dialog, true);
  });
  dialog.addEventListener("click", (e) => {
    if (e.target === dialog) {
      // A click on the backdrop (outside the box) closes it.
      const r = dialog.getBoundingClientRect();
      const inside = e.clientX >= r.left && e.clientX <= r.right &&
        e.clientY >= r.top && e.clientY <= r.bottom;
      if (!inside) closeModal(dialog, true);
      return;
    }
    if (e.target.closest("[data-close]")) closeModal(dialog, true);
  });
}

export function newKey() {
  return window.crypto.randomUUID ? window.crypto.randomUUID()
    : Array.from(window.crypto.getRandomValues(new Uint8Array(16)),
      (b) => b.toString(16).padStart(2, "0")).join("");
}
