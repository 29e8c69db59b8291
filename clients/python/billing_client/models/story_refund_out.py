from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="StoryRefundOut")


@_attrs_define
class StoryRefundOut:
    """
    Attributes:
        amount (str):
        at (datetime.datetime):
        credits_revoked (int):
        currency (str):
        note (None | str):
        provider_operation_id (None | str):
        source (str):
    """

    amount: str
    at: datetime.datetime
    credits_revoked: int
    currency: str
    note: None | str
    provider_operation_id: None | str
    source: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        amount = self.amount

        at = self.at.isoformat()

        credits_revoked = self.credits_revoked

        currency = self.currency

        note: None | str
        note = self.note

        provider_operation_id: None | str
        provider_operation_id = self.provider_operation_id

        source = self.source

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "amount": amount,
                "at": at,
                "credits_revoked": credits_revoked,
                "currency": currency,
                "note": note,
                "provider_operation_id": provider_operation_id,
                "source": source,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        amount = d.pop("amount")

        at = datetime.datetime.fromisoformat(d.pop("at"))

        credits_revoked = d.pop("credits_revoked")

        currency = d.pop("currency")

        def _parse_note(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        note = _parse_note(d.pop("note"))

        def _parse_provider_operation_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        provider_operation_id = _parse_provider_operation_id(d.pop("provider_operation_id"))

        source = d.pop("source")

        story_refund_out = cls(
            amount=amount,
            at=at,
            credits_revoked=credits_revoked,
            currency=currency,
            note=note,
            provider_operation_id=provider_operation_id,
            source=source,
        )

        story_refund_out.additional_properties = d
        return story_refund_out

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
