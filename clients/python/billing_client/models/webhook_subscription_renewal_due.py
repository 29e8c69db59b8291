from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.webhook_subscription_renewal_due_data import WebhookSubscriptionRenewalDueData


T = TypeVar("T", bound="WebhookSubscriptionRenewalDue")


@_attrs_define
class WebhookSubscriptionRenewalDue:
    """`subscription.renewal_due`: A club's paid period ends in `days_left` days: remind its owner to renew (once per
    period and reminder day; after downtime, one late reminder).

        Attributes:
            data (WebhookSubscriptionRenewalDueData): A reminder that a club's paid period ends soon
                (``app/renewals/reminders.py``).
            timestamp (datetime.datetime): When the fact happened (UTC).
            type_ (Literal['subscription.renewal_due']): The event type.
    """

    data: WebhookSubscriptionRenewalDueData
    timestamp: datetime.datetime
    type_: Literal["subscription.renewal_due"]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = self.data.to_dict()

        timestamp = self.timestamp.isoformat()

        type_ = self.type_

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "data": data,
                "timestamp": timestamp,
                "type": type_,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.webhook_subscription_renewal_due_data import WebhookSubscriptionRenewalDueData  # noqa: PLC0415

        d = dict(src_dict)
        data = WebhookSubscriptionRenewalDueData.from_dict(d.pop("data"))

        timestamp = datetime.datetime.fromisoformat(d.pop("timestamp"))

        type_ = cast(Literal["subscription.renewal_due"], d.pop("type"))
        if type_ != "subscription.renewal_due":
            raise ValueError(f"type must match const 'subscription.renewal_due', got '{type_}'")

        webhook_subscription_renewal_due = cls(
            data=data,
            timestamp=timestamp,
            type_=type_,
        )

        webhook_subscription_renewal_due.additional_properties = d
        return webhook_subscription_renewal_due

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
