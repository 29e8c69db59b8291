from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="RenewalPhoneIn")


@_attrs_define
class RenewalPhoneIn:
    """
    Attributes:
        consent (bool): The owner agrees to receive renewal invoices from Kaspi on this phone.
        phone (str):
    """

    consent: bool
    phone: str

    def to_dict(self) -> dict[str, Any]:
        consent = self.consent

        phone = self.phone

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "consent": consent,
                "phone": phone,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        consent = d.pop("consent")

        phone = d.pop("phone")

        renewal_phone_in = cls(
            consent=consent,
            phone=phone,
        )

        return renewal_phone_in
