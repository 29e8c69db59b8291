from __future__ import annotations

from flask import Blueprint, Response

from app.api import endpoint
from app.auth.services import current_user, current_user_id
from app.events import services
from app.events.publish import edit_event, publish_event
from app.events.requirements import requirement
from app.events.schemas import (
    EventCreateIn,
    EventListOut,
    EventOut,
    EventPatchIn,
    PublishOut,
    PublishQuery,
    RequirementOut,
    RequirementQuery,
    event_out,
)
from app.observability import metrics

bp = Blueprint("events", __name__, url_prefix="/api/events")

PAYWALL_402 = (
    "PAYWALL: reason PUBLISH_REQUIRES_PAYMENT, CLUB_REQUIRED_FOR_LARGE_EVENT, "
    "SUBSCRIPTION_NOT_ACTIVE, MAX_EVENT_PARTICIPANTS_EXCEEDED or PAID_EVENTS_NOT_ALLOWED, "
    "with options ONE_OFF_CREDIT / CLUB_ACCESS"
)


@bp.post("")
@endpoint(
    summary="Create a draft event (personal, or in a club you own or administer)",
    tags=("events",),
    body=EventCreateIn,
    response=EventOut,
    status=201,
    errors={
        402: "PAYWALL (SUBSCRIPTION_NOT_ACTIVE): the club's subscription does not allow it",
        403: "FORBIDDEN: only the club's owner and admins create club events",
        404: "CLUB_NOT_FOUND",
    },
)
def create_event(body: EventCreateIn) -> EventOut:
    return event_out(services.create_event(current_user(), body))


@bp.get("")
@endpoint(
    summary="Your events: personal ones and those of clubs you own or administer",
    tags=("events",),
    response=EventListOut,
)
def list_events() -> EventListOut:
    return EventListOut(events=[event_out(e) for e in services.my_events(current_user().id)])


@bp.get("/<event_id>")
@endpoint(
    summary="One event: published ones are public, drafts visible to their owner or club",
    tags=("events",),
    response=EventOut,
    errors={404: "EVENT_NOT_FOUND"},
)
def get_event(event_id: str) -> EventOut:
    event_uuid = services.parse_event_id(event_id)
    return event_out(services.visible_event(event_uuid, current_user().id))


@bp.patch("/<event_id>")
@endpoint(
    summary="Edit an event; a published one must stay within its entitlement",
    tags=("events",),
    body=EventPatchIn,
    query=PublishQuery,
    response=EventOut,
    errors={
        402: PAYWALL_402,
        403: "FORBIDDEN",
        404: "EVENT_NOT_FOUND",
        409: "CREDIT_CONFIRMATION_REQUIRED: enlarging a personal event published free past "
        "the free limit uses one upgrade credit (repeat with ?confirm_credit=1); "
        "PUBLISH_IN_PROGRESS: a confirmed edit waited too long for the owner's other "
        "publish (retry after Retry-After)",
    },
    multi_step=True,
)
def patch_event(event_id: str, body: EventPatchIn, query: PublishQuery) -> EventOut:
    event_uuid = services.parse_event_id(event_id)
    return edit_event(current_user(), event_uuid, body, confirm=query.confirmed)


@bp.delete("/<event_id>")
@endpoint(
    summary="Delete one of your drafts (published events stay)",
    tags=("events",),
    status=204,
    errors={
        403: "FORBIDDEN",
        404: "EVENT_NOT_FOUND",
        409: "EVENT_PUBLISHED: a published event cannot be deleted; PURCHASE_IN_PROGRESS: a "
        "payment for the draft is in progress (cancel it first)",
    },
)
def delete_event(event_id: str) -> Response:
    services.delete_draft(current_user(), services.parse_event_id(event_id))
    return Response(status=204)


@bp.get("/<event_id>/requirements")
@endpoint(
    summary="What publishing this draft, or resizing this published event, would need now",
    tags=("events",),
    query=RequirementQuery,
    response=RequirementOut,
    errors={
        403: "FORBIDDEN: you may see the event but not manage it",
        404: "EVENT_NOT_FOUND",
    },
)
def event_requirements(event_id: str, query: RequirementQuery) -> RequirementOut:
    event_uuid = services.parse_event_id(event_id)
    found = requirement(current_user().id, event_uuid, resize=query.resize, size=query.size)
    metrics.REQUIREMENT_OUTCOMES.labels(found.outcome).inc()
    return RequirementOut(outcome=found.outcome, error=found.error)


@bp.post("/<event_id>/publish")
@endpoint(
    summary="Publish an event, enforcing the free limit, upgrade credits and club plans",
    tags=("events",),
    query=PublishQuery,
    response=PublishOut,
    errors={
        402: PAYWALL_402,
        403: "FORBIDDEN: you may see the event but not publish it",
        404: "EVENT_NOT_FOUND",
        409: "CREDIT_CONFIRMATION_REQUIRED (repeat with ?confirm_credit=1) "
        "or PUBLISH_IN_PROGRESS (retry after Retry-After)",
    },
    multi_step=True,
    # Publishing writes nothing that refers to the caller's user row: whoever may
    # publish an event already has one (they created it, or joined its club).
    provision=False,
)
def publish(event_id: str, query: PublishQuery) -> PublishOut:
    event_uuid = services.parse_event_id(event_id)
    result = publish_event(current_user_id(), event_uuid, confirm=query.confirmed)
    return PublishOut(
        event_id=result.event_id,
        published_at=result.published_at,
        credit_consumed=result.credit_consumed,
        already_published=result.already_published,
    )
