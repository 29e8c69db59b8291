"""Facts for the decision tables, read from the catalog and the database.

The free limit is the default plan's ``max_event_participants``; the upgrade
ceiling is the personal credit product's ``constraints.max_participants``.
The product is found by what it is (``type='credit'``, scope ``personal``),
not by its code.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import url_for
from sqlalchemy import func, select

from app.billing.core.models import Credit
from app.catalog import services as catalog
from app.catalog.models import Plan
from app.catalog.paywall import confirmation_required, paywall
from app.catalog.services import PlanLike, ProductView
from app.clubs.subscriptions import EffectivePlan, effective_plan
from app.domain_errors import Conflict, PaymentRequired
from app.events import decision as d
from app.events.credits import credit_code
from app.events.models import Event
from app.extensions import db

log = logging.getLogger(__name__)


def credit_terms(product: ProductView | None) -> d.CreditTerms | None:
    if product is None:
        return None
    ceiling = (product.constraints or {}).get("max_participants")
    if ceiling is not None and (not isinstance(ceiling, int) or isinstance(ceiling, bool)):
        log.warning("product %s has a malformed max_participants %r", product.code, ceiling)
        return None
    return d.CreditTerms(code=product.code, ceiling=ceiling, on_sale=product.active)


def available_credits(user_id: str, credit_code: str) -> int:
    return db.session.scalars(
        select(func.count())
        .select_from(Credit)
        .where(
            Credit.user_id == user_id,
            Credit.credit_code == credit_code,
            Credit.status == "available",
        )
    ).one()  # a count is always one row


def personal_terms(owner_id: str, *, count_credits: bool = True) -> d.PersonalTerms:
    product = catalog.personal_credit_product()
    terms = credit_terms(product)
    count = available_credits(owner_id, terms.code) if terms and count_credits else 0
    return d.PersonalTerms(
        free_limit=catalog.default_plan().max_event_participants,
        credit=terms,
        available_credits=count,
    )


def club_terms(club_id: uuid.UUID, action: str) -> tuple[d.ClubTerms, EffectivePlan]:
    """The club's effective plan, with its subscription row held (FOR SHARE) until commit.

    A concurrent expiry waits for this transaction, or this one sees it expired:
    an event is never published under a subscription that ended before the commit.
    """
    eff = effective_plan(club_id, for_share=True)
    status = eff.status
    allowed = True if status is None else catalog.action_allowed(status, action)
    plan = eff.plan
    terms = d.ClubTerms(
        plan_id=plan.id,
        max_event_participants=plan.max_event_participants,
        paid_events=plan.paid_events,
        subscription_status=status,
        action_allowed=allowed,
    )
    return terms, eff


def facts(event: Event) -> d.EventFacts:
    return d.EventFacts(
        max_participants=event.max_participants,
        is_paid=event.is_paid,
        published=event.published_at is not None,
        upgraded_by_credit=event.upgraded_by_credit,
    )


def _plan_fitting(wanted: d.EventFacts, preferred: PlanLike | None = None) -> PlanLike | None:
    """A plan for the event: the preferred (renewal) one if it fits, else the cheapest."""
    if (
        preferred is not None
        and not preferred.is_default
        and d.fits(preferred.max_event_participants, wanted.max_participants)
        and (preferred.paid_events or not wanted.is_paid)
        and catalog.product_for_plan(preferred.id) is not None
    ):
        return preferred
    return catalog.cheapest_plan_fitting(wanted.max_participants, paid_events=wanted.is_paid)


def _paywall_reason(decision: d.Decision) -> str:
    # Only a PAYWALL decision reaches the paywall builders, and decision.py always names it.
    if decision.reason is None:
        raise ValueError(f"a {decision.outcome} decision has no paywall reason")
    return decision.reason


def _limit_text(limit: int | None) -> str:
    return "unlimited" if limit is None else str(limit)


def personal_paywall(
    decision: d.Decision, event_id: uuid.UUID, wanted: d.EventFacts, terms: d.PersonalTerms
) -> PaymentRequired:
    reason = _paywall_reason(decision)
    ceiling = terms.credit.ceiling if terms.credit else None
    product = catalog.personal_credit_product() if decision.offer_credit else None
    free_plan = catalog.default_plan()
    requested = _limit_text(wanted.max_participants)
    if decision.reason == d.PUBLISH_REQUIRES_PAYMENT:
        message = (
            f"Free events allow up to {terms.free_limit} participants; "
            f"{requested} needs an event upgrade or a club plan."
        )
    else:  # CLUB_REQUIRED_FOR_LARGE_EVENT (publish, or enlarging a published event)
        message = (
            f"An event upgrade covers up to {_limit_text(ceiling)} participants; "
            f"{requested} needs a club plan."
            if terms.credit is not None
            else f"Events over {terms.free_limit} participants need a club plan."
        )
    return paywall(
        reason,
        message,
        current_plan_id=free_plan.id,
        required_plan=_plan_fitting(wanted) if decision.offer_club else None,
        credit_product=product,
        meta={
            "event_id": str(event_id),
            "requested_participants": wanted.max_participants,
            "free_limit": terms.free_limit,
            "credit_ceiling": ceiling,
            "available_credits": terms.available_credits,
        },
    )


def personal_refusal(
    decision: d.Decision,
    event_id: uuid.UUID,
    wanted: d.EventFacts,
    terms: d.PersonalTerms,
    *,
    published: bool,
) -> Conflict | PaymentRequired:
    """What a personal event's publish (or, once ``published``, its enlarging edit)
    answers when the decision is not to go ahead: 409 asking to confirm the credit, with
    the call to repeat, or the 402 paywall. One wording for the publish, the edit and
    the page's question beforehand (app/events/requirements.py)."""
    if decision.outcome is not d.Outcome.CONFIRM_CREDIT:
        return personal_paywall(decision, event_id, wanted, terms)
    if published:
        href = url_for("events.patch_event", event_id=str(event_id), confirm_credit=1)
        action = "Enlarging this published event"
    else:
        href = url_for("events.publish", event_id=str(event_id), confirm_credit=1)
        action = "Publishing this event"
    return confirmation_required(
        event_id, credit_code(terms), wanted.max_participants, href, action=action
    )


def club_paywall(
    decision: d.Decision,
    event_id: uuid.UUID | None,
    club_id: uuid.UUID,
    wanted: d.EventFacts,
    terms: d.ClubTerms,
    eff: EffectivePlan,
    action: str,
) -> PaymentRequired:
    reason = _paywall_reason(decision)
    plan = eff.plan
    meta: dict[str, Any] = {"club_id": str(club_id)}
    if event_id is not None:
        meta["event_id"] = str(event_id)
    preferred = None
    if decision.reason == d.SUBSCRIPTION_NOT_ACTIVE:
        message = (
            f"The club's subscription is {terms.subscription_status}; "
            f"renew it to {action.replace('_', ' ')}s."
        )
        meta.update(subscription_status=terms.subscription_status, action=action)
        if eff.subscription is not None:
            preferred = db.session.get(Plan, eff.subscription.plan_id)
    elif decision.reason == d.MAX_EVENT_PARTICIPANTS_EXCEEDED:
        message = (
            f"The {plan.title} plan allows up to {_limit_text(plan.max_event_participants)} "
            f"participants per event; {_limit_text(wanted.max_participants)} needs a larger plan."
        )
        meta.update(
            requested_participants=wanted.max_participants,
            plan_limit=plan.max_event_participants,
        )
    else:  # PAID_EVENTS_NOT_ALLOWED
        message = f"The {plan.title} plan does not allow paid events."
        meta.update(is_paid=True)
    return paywall(
        reason,
        message,
        current_plan_id=plan.id,
        required_plan=_plan_fitting(wanted, preferred),
        meta=meta,
    )
