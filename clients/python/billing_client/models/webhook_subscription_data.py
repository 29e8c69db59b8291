from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.webhook_subscription_data_status import WebhookSubscriptionDataStatus

T = TypeVar("T", bound="WebhookSubscriptionData")


@_attrs_define
class WebhookSubscriptionData:
    """A club's subscription after its change (``_data`` of app/clubs/transitions.py).

    Attributes:
        club_id (UUID):
        current_period_end (datetime.datetime):
        current_period_start (datetime.datetime):
        grace_until (datetime.datetime): Until when a lapsed period keeps its access.
        ordering_key (str): `subscription:<club_id>`: the events of one key are delivered in `sequence` order.
        plan_id (str):
        sequence (int): 1, 2, 3, ... per `ordering_key`, without gaps: event n+1 of a key is never delivered to an
            endpoint before event n is delivered or dead.
        status (WebhookSubscriptionDataStatus):
    """

    club_id: UUID
    current_period_end: datetime.datetime
    current_period_start: datetime.datetime
    grace_until: datetime.datetime
    ordering_key: str
    plan_id: str
    sequence: int
    status: WebhookSubscriptionDataStatus
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        club_id = str(self.club_id)

        current_period_end = self.current_period_end.isoformat()

        current_period_start = self.current_period_start.isoformat()

        grace_until = self.grace_until.isoformat()

        ordering_key = self.ordering_key

        plan_id = self.plan_id

        sequence = self.sequence

        status = self.status.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "club_id": club_id,
                "current_period_end": current_period_end,
                "current_period_start": current_period_start,
                "grace_until": grace_until,
                "ordering_key": ordering_key,
                "plan_id": plan_id,
                "sequence": sequence,
                "status": status,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        club_id = UUID(d.pop("club_id"))

        current_period_end = datetime.datetime.fromisoformat(d.pop("current_period_end"))

        current_period_start = datetime.datetime.fromisoformat(d.pop("current_period_start"))

        grace_until = datetime.datetime.fromisoformat(d.pop("grace_until"))

        ordering_key = d.pop("ordering_key")

        plan_id = d.pop("plan_id")

        sequence = d.pop("sequence")

        status = WebhookSubscriptionDataStatus(d.pop("status"))

        webhook_subscription_data = cls(
            club_id=club_id,
            current_period_end=current_period_end,
            current_period_start=current_period_start,
            grace_until=grace_until,
            ordering_key=ordering_key,
            plan_id=plan_id,
            sequence=sequence,
            status=status,
        )

        webhook_subscription_data.additional_properties = d
        return webhook_subscription_data

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
