"""Every fallback to an embedded server says why the named server was not used."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import pytest

from scripts import localservices
from scripts.embedded import EmbeddedPostgres, EmbeddedRedis, free_port, start_for_this_process

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def own_servers() -> tuple[str, str]:
    """Servers of this test alone (never the machine's shared ones)."""
    root = Path(tempfile.mkdtemp(prefix="billing-reasons-"))
    root.chmod(0o755)  # the embedded PostgreSQL's own user must reach its data dir
    atexit.register(shutil.rmtree, root, True)  # after the servers' own atexit stops
    postgres = start_for_this_process(EmbeddedPostgres(root / "postgres", free_port()))
    redis_url = start_for_this_process(EmbeddedRedis(root / "redis", free_port()))
    return postgres, redis_url


def test_postgres_reasons_are_one_line_and_specific(own_servers):
    postgres, _ = own_servers
    port = postgres.rsplit(":", 1)[1].split("/")[0]
    assert localservices.postgres_problem(postgres) is None
    assert (
        localservices.postgres_problem(f"postgresql://nobody@127.0.0.1:{port}/postgres")
        == 'role "nobody" does not exist'
    )
    assert (
        localservices.postgres_problem(f"postgresql://postgres@127.0.0.1:{port}/nope")
        == 'database "nope" does not exist'
    )
    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/billing"
    assert localservices.postgres_problem(closed) == "Connection refused"


def test_redis_reasons_name_a_wrong_database_index(own_servers):
    _, redis_url = own_servers
    assert localservices.redis_problem(redis_url) is None
    assert localservices.redis_problem(redis_url.replace("/0", "/99")) == (
        "DB index is out of range"
    )
    assert "Connection refused" in localservices.redis_problem(f"redis://127.0.0.1:{free_port()}/0")


def test_messages_hide_passwords_and_say_what_happens_next(tmp_path):
    url = "postgresql://billing:s3cret@127.0.0.1:5432/billing"
    said = localservices.fallback_message(
        "PostgreSQL", url, "password authentication failed", tmp_path
    )
    assert said == (
        "postgresql://billing:***@127.0.0.1:5432/billing did not answer: password "
        f"authentication failed — starting embedded PostgreSQL under {tmp_path}"
    )
    refused = localservices.refusal_message("PostgreSQL", url, "x", "DATABASE_URL")
    assert "s3cret" not in refused and "BILLING_EMBEDDED=0" in refused


def test_with_the_fallback_off_a_dead_server_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv("BILLING_EMBEDDED", "0")
    with pytest.raises(localservices.ServiceUnavailable, match="Connection refused"):
        localservices.ensure_services(
            f"postgresql://postgres@127.0.0.1:{free_port()}/postgres",
            f"redis://127.0.0.1:{free_port()}/0",
            var=tmp_path,
        )
    assert not list(tmp_path.iterdir())  # nothing started
