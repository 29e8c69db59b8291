"""Why a transaction was held, as the console names it (ReviewItem.why)."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from app.billing.operator.review import ReviewItem

pytestmark = pytest.mark.unit


def item(**fields) -> ReviewItem:
    values = {
        "transaction_id": uuid.uuid4(),
        "user_id": "u",
        "product_code": "EVENT_UPGRADE_500",
        "amount": Decimal("1000.00"),
        "provider_amount": Decimal("1000.00"),
        "provider_status": "Processed",
        "reason": "payment id: ours 1, provider 2",
        "since": datetime.now(UTC),
        "held_from": "pending",
    }
    return ReviewItem(**{**values, **fields})


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"provider_amount": Decimal("1.00")}, "amount_mismatch"),
        (
            {"held_from": "expired", "reason": "late payment after expired; held by policy"},
            "late_payment",
        ),
        ({"held_from": "expired", "provider_amount": Decimal("1.00")}, "late_payment"),
        ({"held_from": "completed", "reason": "refund_unknown: no answer"}, "refund_unknown"),
        (
            {"held_from": "completed", "reason": "receipt_failed: the sale receipt was not issued"},
            "receipt_failed",
        ),
        ({}, "other"),
        ({"provider_amount": None, "reason": "the provider reported no amount"}, "other"),
    ],
)
def test_why_it_was_held(fields, why):
    assert item(**fields).why == why
