// @ts-check
/* The public catalog (prices and limits come from the API, never from this code). */
import { api } from "./api.js";
import { t } from "./i18n.js";

/** @type {import("../../api-types").CatalogOut | null} */
let catalog = null;

export async function loadCatalog() {
  if (catalog) return catalog;
  const res = await api("GET", "/api/billing/products", { auth: false });
  if (res.status === 200 && res.data) catalog = res.data;
  return catalog;
}

export function product(code) {
  return ((catalog && catalog.products) || []).find((p) => p.code === code) || null;
}

export function plan(id) {
  return ((catalog && catalog.plans) || []).find((p) => p.id === id) || null;
}

export function plans() { return (catalog && catalog.plans) || []; }

export function freePlan() {
  return plans().find((p) => p.price && Number(p.price.amount) === 0) || plan("free");
}

/* The plan a product buys (CLUB_50 -> club_50), or null for one-off products. */
export function planOfProduct(code) {
  const p = product(code);
  return p && p.plan_id ? plan(p.plan_id) : null;
}

export function upgradeProduct() {
  return ((catalog && catalog.products) || []).find((p) => p.type === "credit") || null;
}

/* Names in the page's language where a translation exists; the catalog's own
 * title (an operator may rename things) otherwise. */

export function planTitle(p) {
  if (!p) return "";
  const key = "plan." + p.id;
  const text = t(key);
  return text === key ? p.title : text;
}

export function productTitle(p) {
  if (!p) return "";
  const key = "product." + p.code;
  const text = t(key);
  return text === key ? p.title : text;
}
