// @ts-check
/* A purchase through the typed client against a running server (tsc checks this file
 * against the generated types first: `npm run typecheck`). tests/integration/
 * test_contract_clients.py starts gunicorn, a Celery worker and the Kaspi stub and
 * runs it with:
 *   BILLING_API_URL   the API's base URL
 *   BILLING_TOKEN     a buyer's Bearer JWT
 *   KASPI_STUB_URL    the stub, whose test endpoint pays as the buyer would */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import { createBillingClient } from "../src/client.js";

const API = process.env.BILLING_API_URL;
const STUB = process.env.KASPI_STUB_URL;
const TOKEN = process.env.BILLING_TOKEN;
const skip = !API || !STUB || !TOKEN ? "BILLING_API_URL, BILLING_TOKEN and KASPI_STUB_URL are needed" : false;

/**
 * @template T
 * @param {() => Promise<T | null>} probe
 * @param {number} timeoutMs
 * @returns {Promise<T>}
 */
async function pollUntil(probe, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

test("a buyer pays for an event upgrade and gets the credit", { skip }, async () => {
  const client = createBillingClient({ baseUrl: String(API), token: TOKEN });

  const catalog = await client.get("/api/billing/products");
  assert.ok(catalog.ok, JSON.stringify(catalog));
  const product = catalog.data.products.find((p) => p.code === "EVENT_UPGRADE_500");
  assert.ok(product, "the catalog sells EVENT_UPGRADE_500");

  const before = await client.get("/api/billing/credits");
  assert.ok(before.ok);
  const had = before.data.available.EVENT_UPGRADE_500 || 0;

  const intent = await client.post("/api/billing/purchase-intent", {
    body: { product_code: "EVENT_UPGRADE_500", quantity: 1 },
    headers: { "Idempotency-Key": randomUUID() },
  });
  assert.equal(intent.status, 201, JSON.stringify(intent));
  assert.ok(intent.ok);
  assert.equal(intent.data.status, "pending");
  assert.equal(intent.data.amount, product.price.amount);

  const paid = await fetch(`${STUB}/test/payment/${intent.data.payment.payment_id}/confirm`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: "{}",
  });
  assert.equal(paid.status, 200);

  const transactionId = intent.data.transaction_id;
  const settled = await pollUntil(async () => {
    const status = await client.get("/api/billing/transactions/{transaction_id}", {
      path: { transaction_id: transactionId },
    });
    assert.ok(status.ok, JSON.stringify(status));
    return status.data.status === "pending" ? null : status.data;
  }, 40000);
  assert.equal(settled.status, "completed");

  const after = await client.get("/api/billing/credits");
  assert.ok(after.ok);
  assert.equal(after.data.available.EVENT_UPGRADE_500, had + 1);
});

test("a refused request answers the error envelope, typed", { skip }, async () => {
  const client = createBillingClient({ baseUrl: String(API), token: TOKEN });
  const refused = await client.post("/api/billing/purchase-intent", {
    // @ts-expect-error quantity is an integer: tsc refuses this, the server must too
    body: { product_code: "EVENT_UPGRADE_500", quantity: "many" },
  });
  assert.equal(refused.status, 400);
  assert.ok(!refused.ok);
  assert.equal(refused.error.code, "VALIDATION_ERROR");
  assert.ok(refused.error.details?.some((d) => d.field === "quantity"));

  const anonymous = createBillingClient({ baseUrl: String(API) });
  const denied = await anonymous.get("/api/billing/credits");
  assert.equal(denied.status, 401);
  assert.ok(!denied.ok);
  assert.equal(denied.error.code, "UNAUTHENTICATED");
});

test("webhook bodies have types too", () => {
  /** @type {import("../src/client.js").webhooks["credit.granted"]["post"]["requestBody"]["content"]["application/json"]} */
  const body = {
    type: "credit.granted",
    timestamp: "2026-01-01T00:00:00Z",
    data: {
      transaction_id: randomUUID(),
      credit_code: "EVENT_UPGRADE_500",
      reason: "purchase",
      user_id: "buyer",
      quantity: 1,
      credit_ids: [randomUUID()],
      ordering_key: "user:buyer",
      sequence: 1,
    },
  };
  assert.equal(body.data.quantity, 1);
});
