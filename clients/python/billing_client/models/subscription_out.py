from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.renewal_out import RenewalOut
    from ..models.scheduled_change_out import ScheduledChangeOut


T = TypeVar("T", bound="SubscriptionOut")


@_attrs_define
class SubscriptionOut:
    """
    Attributes:
        current_period_end (datetime.datetime):
        current_period_start (datetime.datetime):
        grace_until (datetime.datetime):
        plan_id (str):
        renewal (RenewalOut):
        scheduled_change (None | ScheduledChangeOut):
        status (str):
    """

    current_period_end: datetime.datetime
    current_period_start: datetime.datetime
    grace_until: datetime.datetime
    plan_id: str
    renewal: RenewalOut
    scheduled_change: None | ScheduledChangeOut
    status: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.scheduled_change_out import ScheduledChangeOut  # noqa: PLC0415

        current_period_end = self.current_period_end.isoformat()

        current_period_start = self.current_period_start.isoformat()

        grace_until = self.grace_until.isoformat()

        plan_id = self.plan_id

        renewal = self.renewal.to_dict()

        scheduled_change: dict[str, Any] | None
        if isinstance(self.scheduled_change, ScheduledChangeOut):
            scheduled_change = self.scheduled_change.to_dict()
        else:
            scheduled_change = self.scheduled_change

        status = self.status

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "current_period_end": current_period_end,
                "current_period_start": current_period_start,
                "grace_until": grace_until,
                "plan_id": plan_id,
                "renewal": renewal,
                "scheduled_change": scheduled_change,
                "status": status,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.renewal_out import RenewalOut  # noqa: PLC0415
        from ..models.scheduled_change_out import ScheduledChangeOut  # noqa: PLC0415

        d = dict(src_dict)
        current_period_end = datetime.datetime.fromisoformat(d.pop("current_period_end"))

        current_period_start = datetime.datetime.fromisoformat(d.pop("current_period_start"))

        grace_until = datetime.datetime.fromisoformat(d.pop("grace_until"))

        plan_id = d.pop("plan_id")

        renewal = RenewalOut.from_dict(d.pop("renewal"))

        def _parse_scheduled_change(data: object) -> None | ScheduledChangeOut:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                scheduled_change_type_0 = ScheduledChangeOut.from_dict(data)

                return scheduled_change_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ScheduledChangeOut, data)

        scheduled_change = _parse_scheduled_change(d.pop("scheduled_change"))

        status = d.pop("status")

        subscription_out = cls(
            current_period_end=current_period_end,
            current_period_start=current_period_start,
            grace_until=grace_until,
            plan_id=plan_id,
            renewal=renewal,
            scheduled_change=scheduled_change,
            status=status,
        )

        subscription_out.additional_properties = d
        return subscription_out

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
