/* Purchases in progress, one per item being bought.
 *
 * An item is what a purchase is for: an event upgrade for one event
 * ("event:<id>"), or a plan for one club ("club:<id>", from the club page or
 * from one of its events' paywalls). A second purchase for
 * the same item shows the first one instead; other items are never blocked.
 * The server is the source of truth: on sign-in the pending list comes from
 * GET /api/billing/transactions?status=pending, so a purchase started in
 * another browser shows here too. localStorage only remembers which event an
 * upgrade was bought for, and each attempt's Idempotency-Key.
 */
import { api, currentUser } from "./api.js";
import { newKey } from "./dom.js";

const KEY = "billing.web.purchases";

function loadAll() {
  try { return JSON.parse(window.localStorage.getItem(KEY) || "{}") || {}; } catch (e) { return {}; }
}

function saveAll(all) {
  try { window.localStorage.setItem(KEY, JSON.stringify(all)); } catch (e) { /* private mode */ }
}

function mine() {
  const all = loadAll();
  const data = all[currentUser()] || { items: {}, attempts: {} };
  data.late = data.late || {};
  return data;
}

function saveMine(data) {
  const all = loadAll();
  all[currentUser()] = data;
  saveAll(all);
}

export function itemKey(item) {
  // A club event's paywall sells the club's plan: the club is the item, wherever it is bought.
  return item.club ? "club:" + item.club.id : "event:" + item.event.id;
}

/* The purchase for ``key`` (a record with transaction_id and what it is for), or null. */
export function purchaseFor(key) {
  return mine().items[key] || null;
}

export function allPurchases() {
  return Object.entries(mine().items).map(([key, value]) => ({ key, ...value }));
}

export function remember(key, record) {
  const data = mine();
  data.items[key] = record;
  saveMine(data);
}

export function forget(key) {
  const data = mine();
  delete data.items[key];
  delete data.attempts[key];
  saveMine(data);
}

/* The Idempotency-Key of this attempt: one per item and product, reused by every
 * retry (also after a reload) until the attempt is over. */
export function attemptKey(key, productCode) {
  const data = mine();
  const attempt = data.attempts[key];
  if (attempt && attempt.product_code === productCode) return attempt.key;
  data.attempts[key] = { product_code: productCode, key: newKey() };
  saveMine(data);
  return data.attempts[key].key;
}

export function dropAttempt(key) {
  const data = mine();
  delete data.attempts[key];
  saveMine(data);
}

/* Purchases canceled while Kaspi could not close their link: a payment made there
 * anyway is settled by the server's late-payment sweep (granted or refunded, by
 * policy). The page looks for that outcome for as long as the sweep does. */
const LATE_WINDOW_MS = 7 * 24 * 3600 * 1000;

export function watchLate(record) {
  const data = mine();
  data.late[record.transaction_id] = {
    transaction_id: record.transaction_id, product_code: record.product_code, amount: record.amount,
    eventId: record.eventId || null, clubId: record.clubId || null, clubName: record.clubName || null,
    since: Date.now(),
  };
  saveMine(data);
}

export function lateWatches() {
  const data = mine();
  const now = Date.now();
  return Object.values(data.late).filter((r) => now - r.since < LATE_WINDOW_MS);
}

export function dropLate(transactionId) {
  const data = mine();
  delete data.late[transactionId];
  saveMine(data);
}

/* Brings the list in line with the server: pending club purchases are found by
 * their club; upgrades bought elsewhere, whose event this browser doesn't know,
 * are listed under their transaction. Local records the server no longer has
 * pending stay until the page has shown how they ended. */
export async function syncWithServer() {
  const res = await api("GET", "/api/billing/transactions?status=pending&limit=100");
  if (res.status !== 200 || !res.data) return false;
  const data = mine();
  const known = new Set(Object.values(data.items).map((r) => r.transaction_id));
  for (const tx of res.data.items) {
    if (known.has(tx.transaction_id)) continue;
    // A link Kaspi no longer takes is no purchase in progress, whatever our TTL says.
    const link = tx.payment && tx.payment.expires_at;
    if (link && Date.parse(link) <= Date.now()) continue;
    const key = tx.club_id ? "club:" + tx.club_id : tx.event_id ? "event:" + tx.event_id : "tx:" + tx.transaction_id;
    data.items[key] = fromBody(tx, { clubId: tx.club_id || null, eventId: tx.event_id || null });
  }
  saveMine(data);
  return true;
}

export function fromBody(body, extra) {
  return {
    transaction_id: body.transaction_id,
    product_code: body.product_code,
    amount: { amount: body.amount, currency: body.currency },
    payment_url: body.payment ? body.payment.payment_url : null,
    payment_id: body.payment ? body.payment.payment_id : null,
    link_expires_at: body.payment ? body.payment.expires_at || null : null,
    poll_interval_s: (body.payment && body.payment.poll_interval_s) || body.poll_interval_s || 5,
    status: body.status,
    ...extra,
  };
}
