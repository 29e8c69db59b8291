from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="WebhookSubscriptionRenewalDueData")


@_attrs_define
class WebhookSubscriptionRenewalDueData:
    """A reminder that a club's paid period ends soon (``app/renewals/reminders.py``).

    Attributes:
        amount (str): What renewing for one more period costs.
        club_id (UUID):
        currency (str):
        days_left (int): Whole days until `due_at` (rounded up).
        due_at (datetime.datetime): The end of the paid period (`current_period_end`).
        grace_until (datetime.datetime):
        ordering_key (str): `subscription:<club_id>`: the events of one key are delivered in `sequence` order.
        plan_id (str): The plan the renewal buys.
        reminder_day (int): The policy's reminder day this stands for (7, 3, 1 by default).
        renew_url (str): The club page, with its Renew button.
        sequence (int): 1, 2, 3, ... per `ordering_key`, without gaps: event n+1 of a key is never delivered to an
            endpoint before event n is delivered or dead.
        user_id (str): The club's owner, who can renew.
    """

    amount: str
    club_id: UUID
    currency: str
    days_left: int
    due_at: datetime.datetime
    grace_until: datetime.datetime
    ordering_key: str
    plan_id: str
    reminder_day: int
    renew_url: str
    sequence: int
    user_id: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        amount = self.amount

        club_id = str(self.club_id)

        currency = self.currency

        days_left = self.days_left

        due_at = self.due_at.isoformat()

        grace_until = self.grace_until.isoformat()

        ordering_key = self.ordering_key

        plan_id = self.plan_id

        reminder_day = self.reminder_day

        renew_url = self.renew_url

        sequence = self.sequence

        user_id = self.user_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "amount": amount,
                "club_id": club_id,
                "currency": currency,
                "days_left": days_left,
                "due_at": due_at,
                "grace_until": grace_until,
                "ordering_key": ordering_key,
                "plan_id": plan_id,
                "reminder_day": reminder_day,
                "renew_url": renew_url,
                "sequence": sequence,
                "user_id": user_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        amount = d.pop("amount")

        club_id = UUID(d.pop("club_id"))

        currency = d.pop("currency")

        days_left = d.pop("days_left")

        due_at = datetime.datetime.fromisoformat(d.pop("due_at"))

        grace_until = datetime.datetime.fromisoformat(d.pop("grace_until"))

        ordering_key = d.pop("ordering_key")

        plan_id = d.pop("plan_id")

        reminder_day = d.pop("reminder_day")

        renew_url = d.pop("renew_url")

        sequence = d.pop("sequence")

        user_id = d.pop("user_id")

        webhook_subscription_renewal_due_data = cls(
            amount=amount,
            club_id=club_id,
            currency=currency,
            days_left=days_left,
            due_at=due_at,
            grace_until=grace_until,
            ordering_key=ordering_key,
            plan_id=plan_id,
            reminder_day=reminder_day,
            renew_url=renew_url,
            sequence=sequence,
            user_id=user_id,
        )

        webhook_subscription_renewal_due_data.additional_properties = d
        return webhook_subscription_renewal_due_data

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
