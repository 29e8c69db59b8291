from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="RefundableOut")


@_attrs_define
class RefundableOut:
    """What each refund would return now; null: it would be refused.

    Attributes:
        full (None | str):
        unused (None | str):
        unused_credits (int):
    """

    full: None | str
    unused: None | str
    unused_credits: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        full: None | str
        full = self.full

        unused: None | str
        unused = self.unused

        unused_credits = self.unused_credits

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "full": full,
                "unused": unused,
                "unused_credits": unused_credits,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_full(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        full = _parse_full(d.pop("full"))

        def _parse_unused(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        unused = _parse_unused(d.pop("unused"))

        unused_credits = d.pop("unused_credits")

        refundable_out = cls(
            full=full,
            unused=unused,
            unused_credits=unused_credits,
        )

        refundable_out.additional_properties = d
        return refundable_out

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
