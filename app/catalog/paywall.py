"""The 402 PAYWALL and 409 CREDIT_CONFIRMATION_REQUIRED answers (DESIGN §3).

Prices come from the catalog rows passed in; nothing here knows a number.
"""

from __future__ import annotations

import uuid
from typing import Any

from app.catalog import services as catalog
from app.catalog.services import PlanLike, ProductLike
from app.domain_errors import Conflict, PaymentRequired
from app.money import money


def credit_option(product: ProductLike) -> dict[str, Any]:
    return {
        "type": "ONE_OFF_CREDIT",
        "product_code": product.code,
        "price": money(product.price, product.currency).model_dump(),
        "provider": catalog.PAYMENT_PROVIDER,
    }


def club_option(plan: PlanLike) -> dict[str, Any] | None:
    product = catalog.product_for_plan(plan.id)
    if product is None:
        return None  # not on sale: nothing to recommend
    return {
        "type": "CLUB_ACCESS",
        "recommended_plan_id": plan.id,
        "price": money(product.price, product.currency).model_dump(),
    }


def paywall(
    reason: str,
    message: str,
    *,
    current_plan_id: str | None,
    required_plan: PlanLike | None,
    credit_product: ProductLike | None = None,
    meta: dict[str, Any] | None = None,
) -> PaymentRequired:
    """402 PAYWALL: the reason, what the caller has, what would do, and how to buy it."""
    options: list[dict[str, Any]] = []
    if credit_product is not None:
        options.append(credit_option(credit_product))
    club = club_option(required_plan) if required_plan is not None else None
    if club is not None:
        options.append(club)
    return PaymentRequired(
        "PAYWALL",
        message,
        reason=reason,
        current_plan_id=current_plan_id,
        required_plan_id=required_plan.id if required_plan is not None and club else None,
        meta=meta or {},
        options=options,
    )


def confirmation_required(
    event_id: uuid.UUID,
    credit_code: str,
    requested: int | None,
    href: str,
    *,
    action: str = "Publishing this event",
) -> Conflict:
    """409: publishing (or enlarging) would consume a credit; the client repeats the call
    at ``href``."""
    return Conflict(
        "CREDIT_CONFIRMATION_REQUIRED",
        f"{action} will use one event upgrade credit. Confirm to continue.",
        reason="EVENT_UPGRADE_WILL_BE_CONSUMED",
        meta={
            "credit_code": credit_code,
            "event_id": str(event_id),
            "requested_participants": requested,
        },
        cta={"type": "CONFIRM_CONSUME_CREDIT", "href": href},
    )
