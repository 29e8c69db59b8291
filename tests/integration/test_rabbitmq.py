"""RabbitMQ as the broker: the settle pipeline, and the kill -9 scenario.

- The pipeline runs on ``TEST_RABBITMQ_URL`` (default the machine's RabbitMQ at
  ``amqp://guest:guest@127.0.0.1:5672//``) in a queue of its own (``CELERY_QUEUE``
  with a random name; its exchanges are derived from it), deleted afterwards, so
  nobody else's messages are touched.
- The kill scenario never kills that server: it starts its own RabbitMQ node (own
  node name, port and Mnesia directory) and kills that one.

When no RabbitMQ answers, or rabbitmq-server is not installed, the tests are
skipped with a reason that says "RabbitMQ NOT RUN" (``-ra`` prints it in the
summary): a skip means the RabbitMQ broker was not tested.
"""

from __future__ import annotations

import os
import sys
import uuid

import pytest
from kombu import Connection

from tests.integration.conftest import service_env
from tests.support import broker_loss
from tests.support.processes import wait_until
from tests.support.rabbitmq_server import RabbitServer, rabbitmq_binary
from tests.support.stub_server import fail_payment, reset_faults

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672//"


def not_run(reason: str) -> None:
    message = f"RabbitMQ NOT RUN: {reason}"
    print(f"\n*** {message} ***", file=sys.stderr)
    pytest.skip(message)


def broker_answers(url: str) -> str | None:
    """None when the broker answers, else why not."""
    try:
        with Connection(url, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1, timeout=5)
            conn.channel().close()
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


@pytest.fixture
def rabbitmq_url() -> str:
    url = os.environ.get("TEST_RABBITMQ_URL", DEFAULT_URL)
    problem = broker_answers(url)
    if problem:
        not_run(f"nothing answers at TEST_RABBITMQ_URL={url} ({problem})")
    return url


@pytest.fixture
def own_queue(rabbitmq_url):
    """A queue name nobody else uses; the queue and its exchanges are deleted afterwards."""
    name = f"billing-test-{uuid.uuid4().hex[:10]}"
    yield name
    with Connection(rabbitmq_url, connect_timeout=5) as conn:
        for kind, target in (
            ("queue", name),
            ("exchange", name),
            ("exchange", f"{name}.pidbox"),
            ("exchange", f"reply.{name}.pidbox"),
            ("exchange", f"{name}ev"),
        ):
            channel = conn.channel()  # a failed delete closes its channel
            try:
                if kind == "queue":
                    channel.queue_delete(target)
                else:
                    channel.exchange_delete(target)
            except Exception as exc:  # not declared in this run: nothing to clean up
                print(f"cleanup of {kind} {target}: {exc!r}")


def test_settle_pipeline_on_rabbitmq(
    clean_db, app, app_config, kaspi_stub, rabbitmq_url, own_queue, tmp_path
):
    reset_faults(kaspi_stub)
    env = service_env(
        app_config,
        KASPI_BASE_URL=kaspi_stub,
        CELERY_BROKER_URL=rabbitmq_url,
        CELERY_QUEUE=own_queue,
        POLL_INITIAL_DELAY_S="0.3",
        POLL_MAX_DELAY_S="1",
    )
    stack = broker_loss.start_stack(env, tmp_path, "rabbit-pipeline")
    try:
        paid = broker_loss.buy_and_pay(stack.api_url, kaspi_stub, 20, ["rabbit-a", "rabbit-b"])
        declined = broker_loss.buy(stack.api_url, "rabbit-c")
        fail_payment(kaspi_stub, declined["payment"]["payment_id"])
        wait_until(
            lambda: broker_loss.completed_count(app, paid) == len(paid),
            timeout=60,
            interval=0.2,
            message="20 payments settled through RabbitMQ",
        )
        broker_loss.assert_settled_exactly_once(app, paid)
        wait_until(
            lambda: broker_loss.status_of(app, declined["transaction_id"]) == "failed",
            timeout=60,
            interval=0.2,
            message="the declined payment failed",
        )
        ready = broker_loss.get_json(stack.api_url + "/readyz")
        assert ready["checks"]["broker"]["ok"] is True
        # Declared durable by Celery: redeclaring it durable is accepted (a non-durable
        # queue of that name would make RabbitMQ refuse with PRECONDITION_FAILED).
        with Connection(rabbitmq_url, connect_timeout=5) as conn:
            conn.channel().queue_declare(queue=own_queue, durable=True, auto_delete=False)
    finally:
        stack.stop()


def test_every_payment_settles_exactly_once_across_rabbitmq_kills(
    clean_db, app, app_config, kaspi_stub, tmp_path
):
    if rabbitmq_binary() is None:
        not_run("rabbitmq-server is not installed, so no node of our own can be killed")
    node = RabbitServer(tmp_path / "rabbit").start()
    reset_faults(kaspi_stub)
    env = service_env(
        app_config,
        KASPI_BASE_URL=kaspi_stub,
        CELERY_BROKER_URL=node.url,
        POLL_INITIAL_DELAY_S="0.5",
        POLL_MAX_DELAY_S="3",
        SWEEP_INTERVAL_S="0.5",
    )
    try:
        outcome = broker_loss.survive_kills(
            app=app,
            env=env,
            tmp_path=tmp_path,
            stub_url=kaspi_stub,
            kill=node.kill9,
            restart=node.start,
            label="rabbitmq",
        )
    finally:
        node.stop()
    assert all(
        r["status"] == 503 and r["failed"] == ["broker"] for r in outcome.readyz_while_down
    ), outcome.readyz_while_down
