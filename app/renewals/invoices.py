"""Kaspi's remote payment: at the first reminder of a period, the renewal is sent as an
invoice to the phone its owner stored (with consent), when the policy says so
(``billing_policy.renewal_invoice_to_phone``).

The invoice is the club's one pending renewal, created like a tap on Renew; only its
payment differs: ``remote/create`` to the phone instead of a QR link. A renewal already
pending is left alone (its owner holds its link). The statuses: RemotePaymentCreated
(pending), Processed (paid), RemotePaymentRejected or RemotePaymentCanceled (failed, no
money); Expired and anything unknown stay pending until our own expiry, as everywhere.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlalchemy import select

from app.billing.core.status import Source, creation_committed
from app.billing.kaspi.client import ProviderRejected, ProviderUnavailable
from app.billing.kaspi.links import attach_payment
from app.billing.kaspi.provider import get_provider
from app.clubs.models import Club
from app.db import after_commit, between_steps, step
from app.domain_errors import DomainError
from app.extensions import db
from app.observability import metrics
from app.renewals import service
from app.renewals.models import RenewalPhone
from app.renewals.schemas import RenewIn

log = logging.getLogger(__name__)


def send_invoice(club_id: uuid.UUID, now: datetime) -> uuid.UUID | None:
    """Send the club's renewal to its owner's phone; answers the transaction, or None
    when there is no phone, a renewal is already pending, or Kaspi refused."""
    with step():
        phone = db.session.get(RenewalPhone, club_id)
        owner_id = db.session.scalar(select(Club.owner_id).where(Club.id == club_id))
        if phone is None or owner_id is None:
            return None
        digits = phone.phone
        try:
            terms, _, fresh, _ = service.open_renewal(
                owner_id, club_id, RenewIn(), now, source=Source.WORKER
            )
        except DomainError as refused:
            log.warning("no renewal invoice for club %s: %s", club_id, refused.message)
            return None
    if not fresh:
        return None
    creation_committed(terms.id, source=Source.WORKER)
    between_steps()
    try:
        payment = get_provider().create_remote_payment(str(terms.id), terms.amount, digits)
    except (ProviderUnavailable, ProviderRejected) as exc:
        log.warning("Kaspi refused the renewal invoice %s: %s", terms.id, exc)
        with step():
            service.abandon(terms.id, source=Source.WORKER)
            after_commit(lambda: metrics.RENEWAL_INVOICES.labels(outcome="failed").inc())
        return None
    with step():
        attach_payment(db.session.connection(), terms.id, payment)
        after_commit(lambda: metrics.RENEWAL_INVOICES.labels(outcome="sent").inc())
    log.info("renewal invoice %s sent for club %s", terms.id, club_id)
    return terms.id
