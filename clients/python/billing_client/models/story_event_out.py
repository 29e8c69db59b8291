from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="StoryEventOut")


@_attrs_define
class StoryEventOut:
    """One entry of the audit log: a status change, with the provider's answer.

    Attributes:
        amount (None | str):
        at (datetime.datetime):
        from_status (None | str):
        note (None | str):
        provider_amount (None | str):
        provider_status (None | str):
        source (str):
        to_status (str):
    """

    amount: None | str
    at: datetime.datetime
    from_status: None | str
    note: None | str
    provider_amount: None | str
    provider_status: None | str
    source: str
    to_status: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        amount: None | str
        amount = self.amount

        at = self.at.isoformat()

        from_status: None | str
        from_status = self.from_status

        note: None | str
        note = self.note

        provider_amount: None | str
        provider_amount = self.provider_amount

        provider_status: None | str
        provider_status = self.provider_status

        source = self.source

        to_status = self.to_status

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "amount": amount,
                "at": at,
                "from_status": from_status,
                "note": note,
                "provider_amount": provider_amount,
                "provider_status": provider_status,
                "source": source,
                "to_status": to_status,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_amount(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        amount = _parse_amount(d.pop("amount"))

        at = datetime.datetime.fromisoformat(d.pop("at"))

        def _parse_from_status(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        from_status = _parse_from_status(d.pop("from_status"))

        def _parse_note(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        note = _parse_note(d.pop("note"))

        def _parse_provider_amount(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        provider_amount = _parse_provider_amount(d.pop("provider_amount"))

        def _parse_provider_status(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        provider_status = _parse_provider_status(d.pop("provider_status"))

        source = d.pop("source")

        to_status = d.pop("to_status")

        story_event_out = cls(
            amount=amount,
            at=at,
            from_status=from_status,
            note=note,
            provider_amount=provider_amount,
            provider_status=provider_status,
            source=source,
            to_status=to_status,
        )

        story_event_out.additional_properties = d
        return story_event_out

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
