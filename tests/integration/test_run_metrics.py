"""`make run`'s API sums every gunicorn worker's samples on /metrics (multiprocess mode).

The API is started from the Procfile line with the environment `make run` gives it
(scripts.run.with_metrics_dir): before, it had no PROMETHEUS_MULTIPROC_DIR and
/metrics showed the one worker that answered it."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from scripts.run import procfile_programs, with_metrics_dir
from tests.integration.conftest import service_env
from tests.support.processes import Process, free_port, http_ready, wait_until

pytestmark = pytest.mark.integration

REQUESTS = 60


def products_answered(metrics_text: str) -> float:
    total = 0.0
    for line in metrics_text.splitlines():
        if (
            line.startswith("billing_http_requests_total{")
            and 'endpoint="/api/billing/products"' in line
        ):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_add_up_both_workers_of_the_run_api(app, app_config, kaspi_stub, tmp_path: Path):
    env = service_env(
        app_config,
        KASPI_BASE_URL=kaspi_stub,
        API_PORT=str(free_port()),
        KASPI_PORT=str(free_port()),
        FISCAL_PORT=str(free_port()),
        BILLING_VAR_DIR=str(tmp_path),
    )
    (api,) = [p for p in procfile_programs(env) if p.name == "api"]
    # A sample left by an earlier run is not added in: the directory is emptied.
    stale = tmp_path / "metrics" / "api"
    stale.mkdir(parents=True)
    (stale / "counter_1.db").write_bytes(b"not a sample file")
    api = with_metrics_dir(api, tmp_path)
    where = Path(api.env["PROMETHEUS_MULTIPROC_DIR"])
    assert where == stale and not (where / "counter_1.db").exists()
    proc = Process("run-api-metrics", api.argv, api.env).start()
    base = f"http://127.0.0.1:{env['API_PORT']}"
    try:
        wait_until(http_ready(base + "/healthz"), timeout=60, message="the API to answer")
        # Eight at once: two sync workers both take some.
        with ThreadPoolExecutor(8) as pool:
            codes = list(
                pool.map(
                    lambda _: (
                        requests.get(
                            base + "/api/billing/products",
                            headers={"Connection": "close"},
                            timeout=30,
                        ).status_code
                    ),
                    range(REQUESTS),
                )
            )
        assert codes == [200] * REQUESTS
        # Both workers wrote samples...
        writers = {re.sub(r"\D", "", f.name) for f in where.glob("counter_*.db")}
        assert len(writers) >= 2, writers
        # ...and whichever worker answers /metrics, it counts every request.
        for _ in range(6):
            text = requests.get(base + "/metrics", headers={"Connection": "close"}, timeout=10).text
            assert products_answered(text) == REQUESTS
    finally:
        proc.stop()
