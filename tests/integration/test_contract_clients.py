"""The generated clients against the real server: gunicorn, a Celery worker, the Kaspi
stub, PostgreSQL and Redis. A purchase is driven through the Python client generated
into clients/python, and through the TypeScript client's node:test suite; the Python
client also installs with pip."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import token_for
from tests.support.processes import start_celery_beat, start_celery_worker, wait_until
from tests.support.stub_server import confirm_payment, reset_faults

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PYTHON_CLIENT = ROOT / "clients" / "python"
TS_CLIENT = ROOT / "clients" / "typescript"


@pytest.fixture(scope="module")
def billing_client() -> Iterator[ModuleType]:
    """The generated package as committed (the pip install is tested on its own below)."""
    sys.path.insert(0, str(PYTHON_CLIENT))
    try:
        import billing_client

        yield billing_client
    finally:
        sys.path.remove(str(PYTHON_CLIENT))


@pytest.fixture
def stack(clean_db, api_server, kaspi_stub, worker_env, tmp_path) -> Iterator[str]:
    """A worker and a beat (the payment polls and sweeps) beside the session's API."""
    reset_faults(kaspi_stub)
    procs = [
        start_celery_worker(worker_env),
        start_celery_beat(worker_env, tmp_path / "beat", name="beat"),
    ]
    yield api_server
    for proc in procs:
        proc.stop()
    reset_faults(kaspi_stub)


def test_python_client_buys_an_event_upgrade_end_to_end(
    stack: str, kaspi_stub: str, billing_client: ModuleType
) -> None:
    from billing_client import AuthenticatedClient
    from billing_client.api.billing import (
        billing_credits,
        billing_purchase_intent,
        billing_transaction_by_id,
    )
    from billing_client.api.catalog import catalog_list_products
    from billing_client.models import CatalogOut, CreditsOut, Error, PurchaseIntentIn

    client = AuthenticatedClient(base_url=stack, token=token_for("py-buyer"), timeout=30.0)
    with client:
        catalog = catalog_list_products.sync(client=client)
        assert isinstance(catalog, CatalogOut)
        product = next(p for p in catalog.products if p.code == "EVENT_UPGRADE_500")

        created = billing_purchase_intent.sync_detailed(
            client=client,
            body=PurchaseIntentIn(product_code="EVENT_UPGRADE_500", quantity=2),
            idempotency_key=str(uuid.uuid4()),
        )
        assert created.status_code == 201, created.content
        intent = created.parsed
        assert intent is not None and not isinstance(intent, Error)
        assert intent.status == "pending"
        assert intent.amount == f"{2 * float(product.price.amount):.2f}"

        assert isinstance(intent.payment.payment_id, str)
        confirm_payment(kaspi_stub, intent.payment.payment_id)

        def settled() -> object:
            status = billing_transaction_by_id.sync(
                client=client, transaction_id=intent.transaction_id
            )
            assert status is not None and not isinstance(status, Error), status
            return status if status.status != "pending" else None

        final = wait_until(settled, timeout=40.0, interval=0.2, message="settled")
        assert final.status == "completed"

        credits = billing_credits.sync(client=client)
        assert isinstance(credits, CreditsOut)
        assert credits.available.additional_properties == {"EVENT_UPGRADE_500": 2}


def test_python_client_reads_the_error_envelope(
    api_server: str, billing_client: ModuleType
) -> None:
    from billing_client import Client
    from billing_client.api.billing import billing_credits
    from billing_client.models import Error

    with Client(base_url=api_server, timeout=30.0) as anonymous:
        answer = billing_credits.sync_detailed(client=anonymous)  # type: ignore[arg-type]
    assert answer.status_code == 401
    assert isinstance(answer.parsed, Error)
    assert answer.parsed.error.code == "UNAUTHENTICATED"


def test_typescript_client_suite_runs_against_the_server(stack: str, kaspi_stub: str) -> None:
    if not (TS_CLIENT / "node_modules").exists():
        pytest.fail("clients/typescript/node_modules is missing: `make install` runs npm ci")
    env = {
        **os.environ,
        "BILLING_API_URL": stack,
        "BILLING_TOKEN": token_for("ts-buyer"),
        "KASPI_STUB_URL": kaspi_stub,
    }
    typecheck = subprocess.run(
        [str(TS_CLIENT / "node_modules" / ".bin" / "tsc"), "--noEmit", "-p", "tsconfig.json"],
        cwd=TS_CLIENT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert typecheck.returncode == 0, typecheck.stdout + typecheck.stderr
    run = subprocess.run(
        [shutil.which("node") or "/usr/bin/node", "--test", "test/"],
        cwd=TS_CLIENT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    # Every test ran: none was skipped for want of the server.
    assert "# pass 3" in output and "# skipped 0" in output, output


def test_python_client_installs_with_pip(tmp_path: Path) -> None:
    # A copy: building in place would leave build/ and egg-info in the committed tree.
    source = shutil.copytree(
        PYTHON_CLIENT, tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__")
    )
    target = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
    subprocess.run(
        [*pip, "--target", str(target), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    probe = subprocess.run(
        [sys.executable, "-c", "import billing_client, sys; print(billing_client.__file__)"],
        env={**os.environ, "PYTHONPATH": str(target)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.startswith(str(target))
