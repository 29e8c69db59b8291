from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="CreditOut")


@_attrs_define
class CreditOut:
    """
    Attributes:
        consumed_at (datetime.datetime | None):
        consumed_event_id (None | UUID):
        created_at (datetime.datetime):
        credit_code (str):
        id (UUID):
        source_transaction_id (UUID):
        status (str):
    """

    consumed_at: datetime.datetime | None
    consumed_event_id: None | UUID
    created_at: datetime.datetime
    credit_code: str
    id: UUID
    source_transaction_id: UUID
    status: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        consumed_at: None | str
        if isinstance(self.consumed_at, datetime.datetime):
            consumed_at = self.consumed_at.isoformat()
        else:
            consumed_at = self.consumed_at

        consumed_event_id: None | str
        if isinstance(self.consumed_event_id, UUID):
            consumed_event_id = str(self.consumed_event_id)
        else:
            consumed_event_id = self.consumed_event_id

        created_at = self.created_at.isoformat()

        credit_code = self.credit_code

        id = str(self.id)

        source_transaction_id = str(self.source_transaction_id)

        status = self.status

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "consumed_at": consumed_at,
                "consumed_event_id": consumed_event_id,
                "created_at": created_at,
                "credit_code": credit_code,
                "id": id,
                "source_transaction_id": source_transaction_id,
                "status": status,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_consumed_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                consumed_at_type_0 = datetime.datetime.fromisoformat(data)

                return consumed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        consumed_at = _parse_consumed_at(d.pop("consumed_at"))

        def _parse_consumed_event_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                consumed_event_id_type_0 = UUID(data)

                return consumed_event_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        consumed_event_id = _parse_consumed_event_id(d.pop("consumed_event_id"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        credit_code = d.pop("credit_code")

        id = UUID(d.pop("id"))

        source_transaction_id = UUID(d.pop("source_transaction_id"))

        status = d.pop("status")

        credit_out = cls(
            consumed_at=consumed_at,
            consumed_event_id=consumed_event_id,
            created_at=created_at,
            credit_code=credit_code,
            id=id,
            source_transaction_id=source_transaction_id,
            status=status,
        )

        credit_out.additional_properties = d
        return credit_out

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
