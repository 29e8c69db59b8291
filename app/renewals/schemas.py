"""Request and response bodies of renewals."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class RenewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Omitted: the plan the next period is on. A dearer plan while the period runs is
    # an upgrade (the prorated difference, now); a cheaper one starts at the period end.
    plan_id: str | None = Field(default=None, min_length=1, max_length=32)


class ReminderOut(BaseModel):
    reminder_day: int
    days_left: int
    sent_at: datetime


class RenewalOut(BaseModel):
    due_at: datetime = Field(description="The end of the paid period: pay before it.")
    transaction_id: uuid.UUID | None = Field(
        description="The renewal (or upgrade) waiting for payment, if there is one."
    )
    reminders_sent: list[ReminderOut] = Field(description="This period's reminders, in order.")


class ScheduledChangeOut(BaseModel):
    plan_id: str
    effective_at: datetime


class RenewalPhoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # +7 701 234 56 78, 87012345678, 77012345678: spaces, dashes and brackets are ignored.
    phone: str = Field(min_length=10, max_length=24, strict=True)
    consent: Literal[True] = Field(
        description="The owner agrees to receive renewal invoices from Kaspi on this phone."
    )


class RenewalPhoneOut(BaseModel):
    phone: str | None = Field(description="Masked: +7•••••••5678; null when none is stored.")
    consented_at: datetime | None
