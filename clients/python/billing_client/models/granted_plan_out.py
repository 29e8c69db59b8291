from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="GrantedPlanOut")


@_attrs_define
class GrantedPlanOut:
    """
    Attributes:
        club_id (UUID):
        period_end (datetime.datetime):
        period_start (datetime.datetime):
        plan_id (str):
    """

    club_id: UUID
    period_end: datetime.datetime
    period_start: datetime.datetime
    plan_id: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        club_id = str(self.club_id)

        period_end = self.period_end.isoformat()

        period_start = self.period_start.isoformat()

        plan_id = self.plan_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "club_id": club_id,
                "period_end": period_end,
                "period_start": period_start,
                "plan_id": plan_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        club_id = UUID(d.pop("club_id"))

        period_end = datetime.datetime.fromisoformat(d.pop("period_end"))

        period_start = datetime.datetime.fromisoformat(d.pop("period_start"))

        plan_id = d.pop("plan_id")

        granted_plan_out = cls(
            club_id=club_id,
            period_end=period_end,
            period_start=period_start,
            plan_id=plan_id,
        )

        granted_plan_out.additional_properties = d
        return granted_plan_out

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
