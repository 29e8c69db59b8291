"""A purchase intent refused because its database connection died (PgBouncer or
PostgreSQL restarted under the request) takes back what it left behind.

The buyer is told 503 "nothing changed, try again", and the next try must not meet
this one's leftovers. The intent's steps commit one by one: the pending row (with
the Idempotency-Key bound to it) is committed before Kaspi is asked for a link, and
a statement cut by the lost connection may have been committed by PostgreSQL all the
same. So once a step fails that way, what this request may have left is undone, as
far as the money rules allow:

1. Kaspi's payment, if one was made, is voided: nobody saw its link (the reply is
   built only after the link is stored), and now nobody can pay it;
2. on a fresh connection, the row, if it was committed and is still pending, is
   closed as failed, and the Idempotency-Key bound to it is released. A retry then
   starts anew instead of meeting 409 (the one-open-purchase-per-event index, or the
   key still claimed).

Where Kaspi does not confirm the void (silence, or it was paid after all), the row is
left pending: the poller asks Kaspi about it, recovering the link by ExternalId, and
settles whatever happened. Where the database is still away after two tries, the
``billing.withdraw_intent`` task does both steps again a few seconds later, retried
with backoff. Should it never get through (or never leave, the broker away too), the
row stays pending with nothing payable behind it until the sweeps expire it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from celery import current_app as current_celery
from sqlalchemy import exc as sa_exc

from app.billing.core import locks
from app.billing.core.status import Source, TxStatus, transition
from app.billing.purchase import idempotency
from app.billing.purchase.cancel import close_link
from app.db import between_steps, step
from app.errors import database_unavailable
from app.observability import metrics

log = logging.getLogger(__name__)

# Two tries in the request: the first statement after an outage may meet a pooled
# connection that died with it (the pool learns of it then); the second gets a new one.
CLOSE_TRIES = 2
# The task's first try waits this long: PgBouncer's restart takes about a second.
LATER_S = 2
WITHDRAW_TASK = "billing.withdraw_intent"
NOTE = "the request lost its database connection; its Kaspi payment was voided"


@dataclass(frozen=True)
class Leftover:
    """What one refused request may have committed: its row, Kaspi's payment (None
    if Kaspi was not asked yet) and the Idempotency-Key (None without one)."""

    transaction_id: uuid.UUID
    payment_id: str | None
    user_id: str
    key: str | None


@contextmanager
def undone_if_cut(left: Leftover, held: idempotency.Slot) -> Iterator[None]:
    """Around a step of the intent: a lost connection withdraws ``left`` before the
    error goes on to answer 503 (``app.errors``)."""
    try:
        yield
    except sa_exc.DBAPIError as err:
        if database_unavailable(err):
            withdraw(left, held)
        raise


def withdraw(left: Leftover, held: idempotency.Slot) -> None:
    """Void Kaspi's payment, then close the row and release the key (see the module)."""
    between_steps()
    if not voided(left.payment_id):
        metrics.INTENTS_WITHDRAWN.labels("left_to_poller").inc()
        log.warning(
            "intent %s refused but its Kaspi payment %s was not voided; the poller settles it",
            left.transaction_id,
            left.payment_id,
        )
        return
    for _ in range(CLOSE_TRIES):
        try:
            with step():
                closed = close(left.transaction_id, Source.API)
                held.release()  # this request's own claim, bound to the row or not
                if left.key is not None:
                    # Its stored reply too, if the last step committed unseen.
                    idempotency.release_bound(left.user_id, left.key, left.transaction_id)
        except sa_exc.DBAPIError as err:
            if not database_unavailable(err):
                raise
            continue
        metrics.INTENTS_WITHDRAWN.labels("closed" if closed else "nothing_left").inc()
        log.info(
            "intent %s refused; %s",
            left.transaction_id,
            "its payment voided, its row closed" if closed else "it had left no row",
        )
        return
    # Not an after-commit task: nothing is being committed, and the row it looks for
    # is committed already or never will be. Sent by name: a room never imports the
    # tasks module (an edge, docs/ARCHITECTURE.md).
    try:
        current_celery.send_task(
            WITHDRAW_TASK,
            args=(str(left.transaction_id), left.payment_id, left.user_id, left.key),
            countdown=LATER_S,
        )
    except Exception:
        # The broker is away too. The buyer still gets the 503 (not this error); the
        # row, if any, has no payable link and the expiry sweep closes it.
        log.exception("the task closing intent %s could not be sent", left.transaction_id)
        metrics.INTENTS_WITHDRAWN.labels("left_to_sweep").inc()
        return
    metrics.INTENTS_WITHDRAWN.labels("deferred").inc()
    log.warning(
        "intent %s refused; a task closes its row once the database answers", left.transaction_id
    )


def voided(payment_id: str | None) -> bool:
    """Nothing can be paid: no payment was made, or Kaspi closed it."""
    return payment_id is None or close_link(payment_id)


def close(transaction_id: uuid.UUID, source: Source) -> bool:
    """In the caller's step: the row failed if it was committed and is still pending.
    True if it was closed here."""
    tx = locks.lock_transaction(transaction_id)
    if tx is None or tx.status != TxStatus.PENDING:
        return False
    transition(tx, TxStatus.FAILED, source=source, note=NOTE)
    return True


def close_later(left: Leftover) -> bool:
    """The task's work, in its step: the row closed as above, and the key released if
    it is still claimed for this row (not a claim a later retry made)."""
    closed = close(left.transaction_id, Source.WORKER)
    if left.key is not None:
        idempotency.release_bound(left.user_id, left.key, left.transaction_id)
    return closed


def withdraw_later(left: Leftover) -> str:
    """The ``billing.withdraw_intent`` task: void again (closing is idempotent), then
    close the row in a step of its own. A database still away raises, and the task
    is retried."""
    between_steps()
    if not voided(left.payment_id):
        return "left_to_poller"
    with step():
        closed = close_later(left)
    return "closed" if closed else "nothing_left"
