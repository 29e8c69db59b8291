"""``POST /api/clubs/<club_id>/renew``: a thin handler over ``app.renewals.service``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, request

from app.api import ExtraResponse, HeaderParam, endpoint
from app.auth.services import current_user_id
from app.billing.purchase import idempotency
from app.billing.schemas import PurchaseIntentOut
from app.clubs.services import club_not_found
from app.errors import uuid_or_404
from app.renewals import phones, service
from app.renewals.schemas import RenewalPhoneIn, RenewalPhoneOut, RenewIn

bp = Blueprint("renewals", __name__, url_prefix="/api/clubs")


@bp.post("/<club_id>/renew")
@endpoint(
    summary="Renew a club's plan: a purchase intent for the next period (owner only)",
    tags=("clubs",),
    body=RenewIn,
    response=PurchaseIntentOut,
    status=201,
    errors={
        400: "VALIDATION_ERROR: plan_id names no plan on sale",
        403: "FORBIDDEN: only the club owner can renew",
        404: "CLUB_NOT_FOUND: no such club, or you are not a member",
        409: "NO_SUBSCRIPTION (nothing to renew), RENEWAL_IN_PROGRESS or "
        "IDEMPOTENCY_KEY_IN_USE (retry)",
        422: "Idempotency-Key reused with another body",
        503: "Payment provider unavailable; nothing charged",
    },
    headers=(
        HeaderParam(
            "Idempotency-Key",
            "Optional, as for purchase intents: the same key and body answer the first "
            "response again (with `Idempotent-Replayed: true`).",
            max_length=idempotency.MAX_KEY_LENGTH,
        ),
    ),
    response_headers={"Idempotent-Replayed": "`true` on a stored reply to a repeated key"},
    extra_responses={
        200: ExtraResponse(
            "The club's renewal already pending (one per club): the same body again",
            PurchaseIntentOut,
        )
    },
    multi_step=True,
)
def renew(club_id: str, body: RenewIn) -> tuple[dict[str, Any], int, dict[str, str]]:
    """201 with a new renewal's purchase intent, or 200 with the renewal already pending
    (one per club). Paying it extends the subscription from the current period's end;
    after expiry, a new period starts at payment. A dearer `plan_id` while the period
    runs is an upgrade: the prorated difference for the days left, same period end."""
    club = _club(club_id)
    key = request.headers.get("Idempotency-Key")
    if key is not None:
        key = idempotency.validate_key(key)
    result = service.renew(current_user_id(), club, body, key)
    headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
    return result.body, result.status, headers


@bp.put("/<club_id>/renewal-phone")
@endpoint(
    summary="Store the phone Kaspi renewal invoices go to, with the owner's consent",
    tags=("clubs",),
    body=RenewalPhoneIn,
    response=RenewalPhoneOut,
    errors={
        400: "VALIDATION_ERROR: not a Kazakhstan mobile number, or no consent",
        403: "FORBIDDEN: only the club owner",
        404: "CLUB_NOT_FOUND: no such club, or you are not a member",
    },
)
def put_renewal_phone(club_id: str, body: RenewalPhoneIn) -> RenewalPhoneOut:
    row = phones.store(current_user_id(), _club(club_id), body.phone, datetime.now(UTC))
    return RenewalPhoneOut(phone=phones.masked(row.phone), consented_at=row.consented_at)


@bp.delete("/<club_id>/renewal-phone")
@endpoint(
    summary="Withdraw consent: the phone is deleted and no invoice is sent to it",
    tags=("clubs",),
    response=RenewalPhoneOut,
    errors={
        403: "FORBIDDEN: only the club owner",
        404: "CLUB_NOT_FOUND: no such club, or you are not a member",
    },
)
def delete_renewal_phone(club_id: str) -> RenewalPhoneOut:
    phones.forget(current_user_id(), _club(club_id))
    return RenewalPhoneOut(phone=None, consented_at=None)


def _club(raw: str) -> uuid.UUID:
    err = club_not_found()
    return uuid_or_404(raw, err.code, err.message)
