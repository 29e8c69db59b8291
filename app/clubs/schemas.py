from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.renewals.schemas import RenewalOut, ScheduledChangeOut


def _not_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


class ClubCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, strict=True)

    _name = field_validator("name")(_not_blank)


class MemberAddIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(min_length=1, max_length=128, strict=True)
    role: Literal["admin", "member"] = "member"

    @field_validator("user_id")
    @classmethod
    def _user_id_not_blank(cls, value: str) -> str:
        # An identity is the token's `sub` verbatim: checked, never rewritten.
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class SubscriptionOut(BaseModel):
    status: str
    plan_id: str
    current_period_start: datetime
    current_period_end: datetime
    grace_until: datetime
    # Renewals (app/renewals): when to pay, the renewal pending, the reminders sent.
    renewal: RenewalOut
    scheduled_change: ScheduledChangeOut | None


class ClubOut(BaseModel):
    id: uuid.UUID
    name: str
    role: str
    plan_id: str
    subscription: SubscriptionOut | None
    member_count: int
    created_at: datetime


class MemberOut(BaseModel):
    club_id: uuid.UUID
    user_id: str
    role: str
    created_at: datetime


class ClubListOut(BaseModel):
    clubs: list[ClubOut]


class MemberListOut(BaseModel):
    members: list[MemberOut]
