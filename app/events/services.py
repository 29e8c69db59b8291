"""Events: who sees and manages them, drafts, edits.

Visibility: a published event is visible to every authenticated user; a draft
to its owner (personal) or to the club's members (club event). Managing
(editing, publishing): the owner of a personal event; the club's owner and
admins for a club event. Anyone else gets 404 for what they cannot see and 403
for what they see but cannot manage.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from sqlalchemy import or_, select

from app.auth.models import User
from app.billing.core.models import Transaction
from app.billing.core.status import TxStatus
from app.clubs.models import ClubMember
from app.clubs.services import MANAGER_ROLES, club_not_found, member_role
from app.domain_errors import Conflict, Forbidden, NotFound
from app.errors import uuid_or_404
from app.events import decision as d
from app.events import enforcement
from app.events import locks as event_locks
from app.events.credits import consume_oldest_credit, credit_code
from app.events.models import Event
from app.events.schemas import EventCreateIn, EventPatchIn
from app.extensions import db


def event_not_found() -> NotFound:
    return NotFound("EVENT_NOT_FOUND", "Event not found")


def forbidden(
    message: str = "Only the event's owner (or its club's owner and admins) may do this",
) -> Forbidden:
    return Forbidden("FORBIDDEN", message)


def parse_event_id(raw: str) -> uuid.UUID:
    err = event_not_found()
    return uuid_or_404(raw, err.code, err.message)


@dataclass(frozen=True)
class Access:
    visible: bool
    manage: bool


def access(event: Event, user_id: str) -> Access:
    if event.club_id is None:
        owner = event.owner_id == user_id
        return Access(visible=owner or event.published_at is not None, manage=owner)
    role = member_role(event.club_id, user_id)
    return Access(
        visible=role is not None or event.published_at is not None,
        manage=role in MANAGER_ROLES,
    )


def visible_event(event_id: uuid.UUID, user_id: str, *, manage: bool = False) -> Event:
    event = db.session.get(Event, event_id)
    if event is None:
        raise event_not_found()
    allowed = access(event, user_id)
    if not allowed.visible:
        raise event_not_found()
    if manage and not allowed.manage:
        raise forbidden()
    return event


def create_event(user: User, body: EventCreateIn) -> Event:
    if body.club_id is not None:
        role = member_role(body.club_id, user.id)
        if role is None:
            raise club_not_found()
        if role not in MANAGER_ROLES:
            raise forbidden("Only the club's owner and admins may create club events")
        terms, eff = enforcement.club_terms(body.club_id, d.CREATE_EVENT)
        if not terms.action_allowed:
            wanted = d.EventFacts(body.max_participants, body.is_paid, published=False)
            raise enforcement.club_paywall(
                d.Decision(d.Outcome.PAYWALL, reason=d.SUBSCRIPTION_NOT_ACTIVE, offer_club=True),
                None,
                body.club_id,
                wanted,
                terms,
                eff,
                d.CREATE_EVENT,
            )
    event = Event(
        id=uuid.uuid4(),
        owner_id=user.id,
        club_id=body.club_id,
        title=body.title,
        max_participants=body.max_participants,
        is_paid=body.is_paid,
        upgraded_by_credit=False,
    )
    db.session.add(event)
    db.session.flush()
    return event


def my_events(user_id: str) -> list[Event]:
    """Personal events I own, the events of clubs I own or administer, and the published
    events of clubs I am a plain member of (a member's club page lists them), newest first."""
    managed_clubs = select(ClubMember.club_id).where(
        ClubMember.user_id == user_id, ClubMember.role.in_(MANAGER_ROLES)
    )
    member_clubs = select(ClubMember.club_id).where(ClubMember.user_id == user_id)
    stmt = (
        select(Event)
        .where(
            or_(
                (Event.club_id.is_(None)) & (Event.owner_id == user_id),
                Event.club_id.in_(managed_clubs),
                Event.club_id.in_(member_clubs) & Event.published_at.is_not(None),
            )
        )
        .order_by(Event.created_at.desc(), Event.id)
    )
    return list(db.session.scalars(stmt))


def update_event(
    user: User, event_id: uuid.UUID, body: EventPatchIn, *, confirm: bool = False
) -> Event:
    """Apply an edit; a published event must stay within its entitlement.

    The event row is locked first, so an edit and a publish of the same event
    serialise: a publish never decides on values an edit is about to replace.
    Enlarging a personal event published free past the free limit is answered as
    its publish would be; with ``confirm`` one credit is consumed in the same
    database transaction as the edit (the same credit path as publishing).
    """
    db.session.expire(visible_event(event_id, user.id, manage=True))  # reload under the lock
    event = event_locks.lock_event(event_id)
    if event is None:
        raise event_not_found()
    before = enforcement.facts(event)
    changes = body.changes()
    after = d.EventFacts(
        max_participants=changes.get("max_participants", event.max_participants),
        is_paid=changes.get("is_paid", event.is_paid),
        published=before.published,
        upgraded_by_credit=before.upgraded_by_credit,
    )
    consumed = False
    if before.published or event.club_id is not None:
        consumed = _check_edit(event, before, after, confirm)
    for name, value in changes.items():
        setattr(event, name, value)
    if consumed:
        event.upgraded_by_credit = True
    db.session.flush()
    return event


def _check_edit(event: Event, before: d.EventFacts, after: d.EventFacts, confirm: bool) -> bool:
    """Refuse an edit beyond the entitlement; answer whether a (confirmed) credit was bound."""
    if event.club_id is not None:
        club_terms, eff = enforcement.club_terms(event.club_id, d.UPDATE_EVENT)
        decision = d.decide_update(before, after, club_terms)
        if decision.outcome is d.Outcome.PAYWALL:
            raise enforcement.club_paywall(
                decision, event.id, event.club_id, after, club_terms, eff, d.UPDATE_EVENT
            )
        return False
    terms = enforcement.personal_terms(event.owner_id)
    decision = d.decide_update(before, after, terms, confirm=confirm)
    if decision.consume_credit and not consume_oldest_credit(event, credit_code(terms)):
        # Counted, but every available credit is held by a concurrent publish or edit
        # (or was just consumed): decide again as a user without credits.
        terms = replace(terms, available_credits=0)
        decision = d.decide_update(before, after, terms, confirm=confirm)
    if decision.outcome is not d.Outcome.PUBLISH:
        raise enforcement.personal_refusal(decision, event.id, after, terms, published=True)
    return decision.consume_credit


def delete_draft(user: User, event_id: uuid.UUID) -> None:
    """Delete a draft its manager no longer wants; a published event is never deleted here.

    Locked like an edit, so a delete and a publish of the same event serialise:
    either the publish sees no event, or the delete sees it published.
    """
    visible_event(event_id, user.id, manage=True)
    event = event_locks.lock_event(event_id)
    if event is None:
        raise event_not_found()
    if event.published_at is not None:
        raise Conflict("EVENT_PUBLISHED", "A published event cannot be deleted")
    # Checked under the event's lock: an intent naming the event takes a key-share
    # lock on it (its foreign key), so one still being written is waited for here.
    if db.session.scalar(
        select(Transaction.id).where(
            Transaction.event_id == event_id, Transaction.status == TxStatus.PENDING
        )
    ):
        raise Conflict(
            "PURCHASE_IN_PROGRESS",
            "A payment for this event is in progress; cancel it before deleting the draft",
        )
    db.session.delete(event)
    db.session.flush()
