"""Storing the provider's payment link on its transaction.

The purchase intent's last step, and the poller's recovery of a payment whose
request died before storing it (the create call is idempotent on ExternalId).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Connection, bindparam, case, update
from sqlalchemy.exc import NoResultFound

from app.billing.core.models import TRANSACTIONS_TABLE
from app.billing.core.status import TxStatus
from app.billing.kaspi.client import CreatedPayment
from app.driver_statements import DriverStatement

# Until the provider answers, the poller leaves the row alone this long; after it,
# the poller asks the provider (idempotently) for the payment a crash lost.
CREATE_GRACE = timedelta(seconds=60)

# Storing the payment link is one UPDATE ... RETURNING: the row lock, the write, and
# what the reply cannot know (the status the link was stored under, which a
# concurrent expiry or cancel may have changed) in one round trip.
_STORE_LINK = DriverStatement.of(
    update(TRANSACTIONS_TABLE)
    .where(TRANSACTIONS_TABLE.c.id == bindparam("tx_id"))
    .values(
        provider_payment_id=bindparam("link_payment_id"),
        payment_url=bindparam("link_url"),
        provider_expires_at=bindparam("link_expires_at"),
        poll_interval_s=bindparam("link_poll_interval_s"),
        next_poll_at=case(
            (
                TRANSACTIONS_TABLE.c.status == TxStatus.PENDING.value,
                bindparam("link_first_poll_at"),
            ),
            else_=TRANSACTIONS_TABLE.c.next_poll_at,
        ),
    )
    # The stored expiry, so the reply shows it as every other read of the row does.
    .returning(TRANSACTIONS_TABLE.c.status, TRANSACTIONS_TABLE.c.provider_expires_at)
)


def attach_payment(conn: Connection, transaction_id: uuid.UUID, payment: CreatedPayment) -> Any:
    """Store the provider's payment on the transaction and schedule its first poll
    (a row no longer pending keeps its schedule); answers the row's ``status`` and
    ``provider_expires_at`` as stored.

    The intent's last step, and the poller's recovery of a payment whose request
    died before storing it.
    """
    delay = timedelta(seconds=current_app.config["POLL_INITIAL_DELAY_S"])
    row = _STORE_LINK.first(
        conn,
        {
            "tx_id": transaction_id,
            "link_payment_id": str(payment.payment_id),
            "link_url": payment.payment_url,
            "link_expires_at": payment.expires_at,
            "link_poll_interval_s": poll_interval_s(payment),
            "link_first_poll_at": datetime.now(UTC) + delay,
        },
    )
    if row is None:
        # The row was committed by this request's (or the lost request's) first step.
        raise NoResultFound(f"transaction {transaction_id} vanished before its link was stored")
    return row


def poll_interval_s(payment: CreatedPayment) -> int:
    return max(1, int(payment.poll_interval_s))
