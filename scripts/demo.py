"""`make demo`: buy an event upgrade from the terminal against the running `make run`.

Each step prints what it sends and what came back: the catalog price, a purchase
intent, paying at the Kaspi stub (as the buyer's "Pay" button would), waiting for
the worker to settle, and the credits granted. It reads the URLs `make run` wrote
to var/dev.env; the environment overrides them.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
import warnings

import requests

from scripts.localservices import var_dir

USER = "demo-user"


def settings() -> dict[str, str]:
    from dotenv import dotenv_values

    path = var_dir() / "dev.env"
    values = {k: v for k, v in dotenv_values(path).items() if v} if path.exists() else {}
    values.update({k: v for k, v in os.environ.items() if k in values or k.endswith("_URL")})
    values.setdefault("API_URL", "http://127.0.0.1:8000")
    values.setdefault("KASPI_BASE_URL", "http://127.0.0.1:8090")
    return values


def step(number: int, text: str) -> None:
    print(f"\n{number}. {text}", flush=True)


def main() -> int:
    from app.auth.tokens import issue_token
    from app.config import DEFAULT_SECRET

    conf = settings()
    api, kaspi = conf["API_URL"], conf["KASPI_BASE_URL"]
    try:
        requests.get(api + "/healthz", timeout=3).raise_for_status()
    except requests.RequestException as exc:
        print(f"make demo: the API at {api} does not answer ({exc}). Start it with `make run`.")
        return 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the development secret is short on purpose
        token = issue_token(conf.get("AUTH_JWT_SECRET") or DEFAULT_SECRET, USER, 3600)
    headers = {"Authorization": f"Bearer {token}"}

    step(1, f"The catalog (GET {api}/api/billing/products)")
    products = requests.get(api + "/api/billing/products", timeout=10).json()
    upgrade = next(p for p in products["products"] if p["code"] == "EVENT_UPGRADE_500")
    price = upgrade["price"]
    print(f"   {upgrade['code']} ({upgrade['title']}): {price['amount']} {price['currency']}")

    step(2, "A purchase intent for one event upgrade (POST /api/billing/purchase-intent)")
    response = requests.post(
        api + "/api/billing/purchase-intent",
        json={"product_code": "EVENT_UPGRADE_500", "quantity": 1},
        headers={**headers, "Idempotency-Key": f"demo-{uuid.uuid4()}"},
        timeout=15,
    )
    body = response.json()
    if response.status_code != 201:
        print(f"   {response.status_code} {body}")
        return 1
    tx_id, payment = body["transaction_id"], body["payment"]
    print(f"   {response.status_code}: transaction {tx_id}, status {body['status']}")
    print(f"   pay at {payment['payment_url']} (Kaspi payment {payment['payment_id']})")

    step(3, f"Pay at the Kaspi stub (POST {kaspi}/test/payment/{payment['payment_id']}/confirm)")
    paid = requests.post(f"{kaspi}/test/payment/{payment['payment_id']}/confirm", timeout=10)
    print(f"   {paid.status_code}: {paid.json().get('Message')}")

    step(4, "Wait for the worker to settle it (GET /api/billing/transactions/status)")
    deadline = time.monotonic() + 60
    status = body["status"]
    while time.monotonic() < deadline:
        status = requests.get(
            api + "/api/billing/transactions/status",
            params={"transaction_id": tx_id},
            headers=headers,
            timeout=10,
        ).json()["status"]
        if status != "pending":
            break
        time.sleep(0.5)
    print(f"   status: {status}")
    if status != "completed":
        print("   the transaction did not complete within 60 s: is the worker running?")
        return 1

    step(5, "The credits (GET /api/billing/credits)")
    credits = requests.get(api + "/api/billing/credits", headers=headers, timeout=10).json()
    granted = [c for c in credits["credits"] if c["source_transaction_id"] == tx_id]
    print(f"   granted by this purchase: {len(granted)} credit(s), status {granted[0]['status']}")
    print(f"   available now for {USER}: {credits['available']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
