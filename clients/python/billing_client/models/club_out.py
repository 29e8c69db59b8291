from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.subscription_out import SubscriptionOut


T = TypeVar("T", bound="ClubOut")


@_attrs_define
class ClubOut:
    """
    Attributes:
        created_at (datetime.datetime):
        id (UUID):
        member_count (int):
        name (str):
        plan_id (str):
        role (str):
        subscription (None | SubscriptionOut):
    """

    created_at: datetime.datetime
    id: UUID
    member_count: int
    name: str
    plan_id: str
    role: str
    subscription: None | SubscriptionOut
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.subscription_out import SubscriptionOut  # noqa: PLC0415

        created_at = self.created_at.isoformat()

        id = str(self.id)

        member_count = self.member_count

        name = self.name

        plan_id = self.plan_id

        role = self.role

        subscription: dict[str, Any] | None
        if isinstance(self.subscription, SubscriptionOut):
            subscription = self.subscription.to_dict()
        else:
            subscription = self.subscription

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "created_at": created_at,
                "id": id,
                "member_count": member_count,
                "name": name,
                "plan_id": plan_id,
                "role": role,
                "subscription": subscription,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.subscription_out import SubscriptionOut  # noqa: PLC0415

        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        id = UUID(d.pop("id"))

        member_count = d.pop("member_count")

        name = d.pop("name")

        plan_id = d.pop("plan_id")

        role = d.pop("role")

        def _parse_subscription(data: object) -> None | SubscriptionOut:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                subscription_type_0 = SubscriptionOut.from_dict(data)

                return subscription_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | SubscriptionOut, data)

        subscription = _parse_subscription(d.pop("subscription"))

        club_out = cls(
            created_at=created_at,
            id=id,
            member_count=member_count,
            name=name,
            plan_id=plan_id,
            role=role,
            subscription=subscription,
        )

        club_out.additional_properties = d
        return club_out

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
