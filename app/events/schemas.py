from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.events.models import Event

# The largest event anyone organises here: a million participants (a stadium holds
# about a tenth). Larger is a typo, not an event; the column itself would take 2^31-1.
MAX_PARTICIPANTS_BOUND = 1_000_000


class EventCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200, strict=True)
    # Required; null means unlimited.
    max_participants: int | None = Field(ge=1, le=MAX_PARTICIPANTS_BOUND, strict=True)
    club_id: uuid.UUID | None = None
    is_paid: bool = Field(default=False, strict=True)

    @field_validator("title")
    @classmethod
    def _title_not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value


class EventPatchIn(BaseModel):
    """Only the fields sent change; ``max_participants: null`` means unlimited."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=200, strict=True)
    max_participants: int | None = Field(default=None, ge=1, le=MAX_PARTICIPANTS_BOUND, strict=True)
    is_paid: bool | None = Field(default=None, strict=True)

    @field_validator("title")
    @classmethod
    def _title_not_blank(cls, value: str | None) -> str | None:
        if value is None:
            raise ValueError("must not be null")
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value

    @field_validator("is_paid")
    @classmethod
    def _is_paid_not_null(cls, value: bool | None) -> bool:
        if value is None:
            raise ValueError("must not be null")
        return value

    @model_validator(mode="after")
    def _something_to_change(self) -> EventPatchIn:
        if not self.model_fields_set:
            raise ValueError("send at least one of title, max_participants, is_paid")
        return self

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class EventOut(BaseModel):
    # Built straight from the ORM row: the fields are the columns.
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    max_participants: int | None
    club_id: uuid.UUID | None
    is_paid: bool
    published_at: datetime | None
    upgraded_by_credit: bool
    owner_id: str
    created_at: datetime
    updated_at: datetime


class EventListOut(BaseModel):
    events: list[EventOut]


class PublishQuery(BaseModel):
    confirm_credit: Literal["1", "true", "0", "false"] = "0"

    @property
    def confirmed(self) -> bool:
        return self.confirm_credit in ("1", "true")


class PublishOut(BaseModel):
    event_id: uuid.UUID
    published_at: datetime
    credit_consumed: bool
    already_published: bool


def event_out(event: Event) -> EventOut:
    return EventOut.model_validate(event)


class RequirementQuery(BaseModel):
    """``max_participants``: the size asked about (a whole number, or ``unlimited``);
    omitted, the event's own size."""

    model_config = ConfigDict(extra="forbid")

    max_participants: str | None = Field(default=None, max_length=12)

    @field_validator("max_participants")
    @classmethod
    def _size(cls, value: str | None) -> str | None:
        if value is None or value == "unlimited":
            return value
        if not value.isascii() or not value.isdigit():
            raise ValueError("must be a whole number or 'unlimited'")
        if not 1 <= int(value) <= MAX_PARTICIPANTS_BOUND:
            raise ValueError(f"must be between 1 and {MAX_PARTICIPANTS_BOUND}")
        return value

    @property
    def resize(self) -> bool:
        return self.max_participants is not None

    @property
    def size(self) -> int | None:
        raw = self.max_participants
        return None if raw is None or raw == "unlimited" else int(raw)


class RequirementOut(BaseModel):
    """What publishing (a draft) or resizing (a published event) would need now.

    ``outcome``: ``allowed`` (nothing), ``already_published``, ``confirm_credit`` (one
    upgrade credit would be used: ``error`` is the 409 CREDIT_CONFIRMATION_REQUIRED the
    call would answer, with its ``cta.href``), or ``payment_required`` (``error`` is the
    402 PAYWALL it would answer, with its reason and options). Advice read from committed
    rows: the POST or PATCH decides again under its locks.
    """

    outcome: Literal["allowed", "already_published", "confirm_credit", "payment_required"]
    error: dict[str, Any] | None = None
