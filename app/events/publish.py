"""Publishing with enforcement: gather facts under locks, ask the decision table, apply.

The guarantee is PostgreSQL's, in one database transaction:

1. the event row is locked (FOR UPDATE) and ``published_at`` re-read, so two
   publishes of one event serialise and the second answers ``already_published``;
2. club events hold their subscription row FOR SHARE until commit, so an
   expiry either waits for the publish or is seen by it;
3. a credit is picked oldest first with ``FOR UPDATE SKIP LOCKED`` and consumed
   by a conditional ``UPDATE ... WHERE status = 'available'``; the unique index
   on ``consumed_event_id`` and the CHECK on consumed rows back it up;
4. the event is published (``upgraded_by_credit``) in the same transaction.

Two publishes of *different* events racing for a user's last credit (Redis lock
off or down): the loser skips the credit the winner holds and answers 402
``PUBLISH_REQUIRES_PAYMENT`` instead of waiting. That is the right answer once
the winner commits; if the winner rolls back, a retry publishes. Never is one
credit consumed twice, nor two credits for one event.

The Redis lock per credit owner (:mod:`app.events.publish_lock`) wraps all of
this, including the commit, so a user's publishes normally queue instead of
racing. Two steps: a short read (who owns the credits; and a publish the
committed state already refuses answers 402 there, without queueing), then,
under the lock, the decision and its effects.
"""

from __future__ import annotations

import uuid
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from app.auth.models import User
from app.db import step
from app.events import decision as d
from app.events import enforcement, services
from app.events import locks as event_locks
from app.events.credits import consume_oldest_credit, credit_code
from app.events.models import Event
from app.events.publish_lock import publish_lock
from app.events.schemas import EventOut, EventPatchIn, event_out
from app.extensions import db
from app.webhooks import outbox
from app.webhooks.catalogue import EventType, event_key


@dataclass(frozen=True)
class PublishResult:
    event_id: uuid.UUID
    published_at: datetime
    credit_consumed: bool
    already_published: bool


def publish_event(user_id: str, event_id: uuid.UUID, *, confirm: bool) -> PublishResult:
    with step():
        event = services.visible_event(event_id, user_id, manage=True)
        credit_owner = event.owner_id if event.club_id is None else None
        if credit_owner is not None:
            _refuse_without_queueing(event, confirm)
    if credit_owner is None:
        with step():  # club events: credits never apply
            return _decide_and_apply(event_id, confirm)
    with publish_lock(credit_owner), step():
        return _decide_and_apply(event_id, confirm)


def edit_event(user: User, event_id: uuid.UUID, body: EventPatchIn, *, confirm: bool) -> EventOut:
    """An edit in a step of its own (``services.update_event`` decides).

    An edit that confirms an upgrade credit for a personal event queues on the owner's
    publish lock, as a publish does, the lock wrapping the commit: an enlarging edit
    and a publish racing for the owner's last credit take turns, instead of the loser
    answering 402 while the winner's transaction is still open.
    """
    owner = None
    if confirm:
        with step():
            event = services.visible_event(event_id, user.id, manage=True)
            owner = event.owner_id if event.club_id is None else None
    with publish_lock(owner) if owner is not None else nullcontext(), step():
        # Serialised inside the step: the row expires at its COMMIT.
        return event_out(services.update_event(user, event_id, body, confirm=confirm))


def _refuse_without_queueing(event: Event, confirm: bool) -> None:
    """Answer 402 at once when the committed state already refuses the publish.

    Without this, every publish of a user who has just spent their last credit
    queues on the owner's lock only to be refused there: 40 racing publishes
    took 40 turns. The answer is read from committed rows without locks, so it
    is what the locked path would have said at that moment: a credit still held
    by an open publish counts as available here, and such a publish goes on to
    the lock. Anything but a paywall (publish, confirm, already published) is
    decided again under the locks.
    """
    if event.published_at is not None:
        return
    facts = enforcement.facts(event)
    terms = enforcement.personal_terms(event.owner_id)
    decision = d.decide_publish(facts, terms, confirm=confirm)
    if decision.outcome is d.Outcome.PAYWALL:
        raise enforcement.personal_paywall(decision, event.id, facts, terms)


def _decide_and_apply(event_id: uuid.UUID, confirm: bool) -> PublishResult:
    event = event_locks.lock_event(event_id)
    if event is None:
        raise services.event_not_found()
    facts = enforcement.facts(event)
    if event.published_at is not None:  # what facts.published says
        return PublishResult(event.id, event.published_at, False, True)
    if event.club_id is not None:
        club_terms, eff = enforcement.club_terms(event.club_id, d.PUBLISH_EVENT)
        decision = d.decide_publish(facts, club_terms, confirm=confirm)
        if decision.outcome is d.Outcome.PAYWALL:
            raise enforcement.club_paywall(
                decision, event.id, event.club_id, facts, club_terms, eff, d.PUBLISH_EVENT
            )
        return _publish(event, credit_consumed=False)

    terms = enforcement.personal_terms(event.owner_id)
    decision = d.decide_publish(facts, terms, confirm=confirm)
    if decision.consume_credit and not consume_oldest_credit(event, credit_code(terms)):
        # Counted, but every available credit is held by a concurrent publish (or was
        # just consumed): decide again as a user without credits.
        terms = replace(terms, available_credits=0)
        decision = d.decide_publish(facts, terms, confirm=confirm)
    if decision.outcome is d.Outcome.PUBLISH:
        return _publish(event, credit_consumed=decision.consume_credit)
    raise enforcement.personal_refusal(decision, event.id, facts, terms, published=False)


def _publish(event: Event, *, credit_consumed: bool) -> PublishResult:
    event.published_at = datetime.now(UTC)
    event.upgraded_by_credit = credit_consumed
    db.session.flush()
    outbox.emit(
        EventType.EVENT_PUBLISHED,
        event_key(event.id),
        {
            "event_id": str(event.id),
            "status": "published",
            "user_id": event.owner_id,
            "club_id": str(event.club_id) if event.club_id else None,
            "max_participants": event.max_participants,
            "upgraded_by_credit": credit_consumed,
        },
        now=event.published_at,
    )
    return PublishResult(event.id, event.published_at, credit_consumed, False)
