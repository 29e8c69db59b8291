from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.credit_out import CreditOut
    from ..models.credits_out_available import CreditsOutAvailable


T = TypeVar("T", bound="CreditsOut")


@_attrs_define
class CreditsOut:
    """
    Attributes:
        available (CreditsOutAvailable):
        credits_ (list[CreditOut]):
    """

    available: CreditsOutAvailable
    credits_: list[CreditOut]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        available = self.available.to_dict()

        credits_ = []
        for credits_item_data in self.credits_:
            credits_item = credits_item_data.to_dict()
            credits_.append(credits_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "available": available,
                "credits": credits_,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.credit_out import CreditOut  # noqa: PLC0415
        from ..models.credits_out_available import CreditsOutAvailable  # noqa: PLC0415

        d = dict(src_dict)
        available = CreditsOutAvailable.from_dict(d.pop("available"))

        credits_ = []
        _credits_ = d.pop("credits")
        for credits_item_data in _credits_:
            credits_item = CreditOut.from_dict(credits_item_data)

            credits_.append(credits_item)

        credits_out = cls(
            available=available,
            credits_=credits_,
        )

        credits_out.additional_properties = d
        return credits_out

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
