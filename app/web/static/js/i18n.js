// @ts-check
/* Language, text and number formats.
 *
 * Two languages, English and Russian. The default follows the browser's list
 * of preferred languages; a choice made on the page is remembered. Prices are
 * tenge written the way each locale writes them, without needless decimals:
 * "1,000 ₸" in English, "1 000 ₸" in Russian ("1 000,50 ₸" only when there are tiyn).
 */
import { EN } from "./messages-en.js";
import { RU } from "./messages-ru.js";

const DICTIONARIES = { en: EN, ru: RU };
const STORAGE_KEY = "billing.web.lang";
const TAGS = { en: "en-GB", ru: "ru-RU" };

let current = "en";
const listeners = [];

export function detectLanguage() {
  let saved = null;
  try { saved = window.localStorage.getItem(STORAGE_KEY); } catch (e) { saved = null; }
  if (saved && DICTIONARIES[saved]) return saved;
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (DICTIONARIES[base]) return base;
    // Kazakh speakers read Russian interfaces far more often than English ones.
    if (base === "kk") return "ru";
  }
  return "en";
}

export function language() { return current; }

export function setLanguage(lang, remember) {
  if (!DICTIONARIES[lang]) return;
  current = lang;
  document.documentElement.lang = lang;
  if (remember) {
    try { window.localStorage.setItem(STORAGE_KEY, lang); } catch (e) { /* private mode */ }
  }
  translatePage(document);
  listeners.forEach((fn) => fn(lang));
}

export function onLanguageChange(fn) { listeners.push(fn); }

/* t("key", {n: 3}) -> the current language's text with {n} filled in. A value
 * may be a function of the variables (Russian plurals need one). */
export function t(key, vars) {
  const entry = key in DICTIONARIES[current] ? DICTIONARIES[current][key] : EN[key];
  if (entry === undefined) return key;
  const text = typeof entry === "function" ? entry(vars || {}, pluralRu) : entry;
  return text.replace(/\{(\w+)\}/g, (m, name) =>
    vars && vars[name] !== undefined && vars[name] !== null ? String(vars[name]) : m);
}

/* Russian plural forms: 1 участник, 2 участника, 5 участников. */
export function pluralRu(n, one, few, many) {
  const mod10 = n % 10;
  const mod100 = n % 100;
  if (mod10 === 1 && mod100 !== 11) return one;
  if (mod10 >= 2 && mod10 <= 4 && (mod100 < 12 || mod100 > 14)) return few;
  return many;
}

/* Elements with data-i18n get their text; data-i18n-attr="aria-label:key" sets attributes. */
export function translatePage(root) {
  root.querySelectorAll("[data-i18n]").forEach((node) => {
    node.textContent = t(node.getAttribute("data-i18n"));
  });
  root.querySelectorAll("[data-i18n-attr]").forEach((node) => {
    node.getAttribute("data-i18n-attr").split(";").forEach((pair) => {
      const [attr, key] = pair.split(":");
      if (attr && key) node.setAttribute(attr.trim(), t(key.trim()));
    });
  });
}

/* {"amount": "15000.00", "currency": "KZT"} -> "15 000 ₸". The whole part is
 * grouped as a BigInt, so no amount is ever rounded through a float. */
export function formatMoney(price) {
  if (!price || typeof price.amount !== "string") return "";
  const [whole, frac = ""] = price.amount.split(".");
  let text;
  try {
    text = new Intl.NumberFormat(TAGS[current]).format(BigInt(whole));
  } catch (e) {
    text = whole;
  }
  const cents = frac.replace(/0+$/, "");
  if (cents) text += (current === "ru" ? "," : ".") + frac.padEnd(2, "0").slice(0, 2);
  const symbol = price.currency === "KZT" ? "₸" : price.currency;
  return text + "\u00a0" + symbol;
}

export function formatDate(iso, withTime) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  /** @type {Intl.DateTimeFormatOptions} */
  const options = withTime ? { dateStyle: "medium", timeStyle: "short" } : { dateStyle: "long" };
  return new Intl.DateTimeFormat(TAGS[current], options).format(date);
}

export function formatNumber(n) {
  return new Intl.NumberFormat(TAGS[current]).format(n);
}

/* Another page's texts (the operator console's), added to the dictionaries. */
export function addTexts(lang, texts) {
  if (DICTIONARIES[lang]) Object.assign(DICTIONARIES[lang], texts);
}
