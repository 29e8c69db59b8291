from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="AgeOut")


@_attrs_define
class AgeOut:
    """
    Attributes:
        count (int):
        oldest_age_s (int | None):
        oldest_at (datetime.datetime | None):
    """

    count: int
    oldest_age_s: int | None
    oldest_at: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        count = self.count

        oldest_age_s: int | None
        oldest_age_s = self.oldest_age_s

        oldest_at: None | str
        if isinstance(self.oldest_at, datetime.datetime):
            oldest_at = self.oldest_at.isoformat()
        else:
            oldest_at = self.oldest_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "count": count,
                "oldest_age_s": oldest_age_s,
                "oldest_at": oldest_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        count = d.pop("count")

        def _parse_oldest_age_s(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        oldest_age_s = _parse_oldest_age_s(d.pop("oldest_age_s"))

        def _parse_oldest_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                oldest_at_type_0 = datetime.datetime.fromisoformat(data)

                return oldest_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        oldest_at = _parse_oldest_at(d.pop("oldest_at"))

        age_out = cls(
            count=count,
            oldest_age_s=oldest_age_s,
            oldest_at=oldest_at,
        )

        age_out.additional_properties = d
        return age_out

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
