from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.age_out import AgeOut
    from ..models.hour_out import HourOut
    from ..models.money_out import MoneyOut
    from ..models.summary_out_by_status import SummaryOutByStatus


T = TypeVar("T", bound="SummaryOut")


@_attrs_define
class SummaryOut:
    """
    Attributes:
        by_status (SummaryOutByStatus):
        hours (list[HourOut]):
        needs_review (AgeOut):
        pending (AgeOut):
        today (MoneyOut):
    """

    by_status: SummaryOutByStatus
    hours: list[HourOut]
    needs_review: AgeOut
    pending: AgeOut
    today: MoneyOut
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        by_status = self.by_status.to_dict()

        hours = []
        for hours_item_data in self.hours:
            hours_item = hours_item_data.to_dict()
            hours.append(hours_item)

        needs_review = self.needs_review.to_dict()

        pending = self.pending.to_dict()

        today = self.today.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "by_status": by_status,
                "hours": hours,
                "needs_review": needs_review,
                "pending": pending,
                "today": today,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.age_out import AgeOut  # noqa: PLC0415
        from ..models.hour_out import HourOut  # noqa: PLC0415
        from ..models.money_out import MoneyOut  # noqa: PLC0415
        from ..models.summary_out_by_status import SummaryOutByStatus  # noqa: PLC0415

        d = dict(src_dict)
        by_status = SummaryOutByStatus.from_dict(d.pop("by_status"))

        hours = []
        _hours = d.pop("hours")
        for hours_item_data in _hours:
            hours_item = HourOut.from_dict(hours_item_data)

            hours.append(hours_item)

        needs_review = AgeOut.from_dict(d.pop("needs_review"))

        pending = AgeOut.from_dict(d.pop("pending"))

        today = MoneyOut.from_dict(d.pop("today"))

        summary_out = cls(
            by_status=by_status,
            hours=hours,
            needs_review=needs_review,
            pending=pending,
            today=today,
        )

        summary_out.additional_properties = d
        return summary_out

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
