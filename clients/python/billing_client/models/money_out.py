from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="MoneyOut")


@_attrs_define
class MoneyOut:
    """
    Attributes:
        currency (str):
        day_start (datetime.datetime):
        money_in (str):
        money_out (str):
    """

    currency: str
    day_start: datetime.datetime
    money_in: str
    money_out: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        currency = self.currency

        day_start = self.day_start.isoformat()

        money_in = self.money_in

        money_out = self.money_out

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "currency": currency,
                "day_start": day_start,
                "money_in": money_in,
                "money_out": money_out,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        currency = d.pop("currency")

        day_start = datetime.datetime.fromisoformat(d.pop("day_start"))

        money_in = d.pop("money_in")

        money_out = d.pop("money_out")

        money_out = cls(
            currency=currency,
            day_start=day_start,
            money_in=money_in,
            money_out=money_out,
        )

        money_out.additional_properties = d
        return money_out

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
