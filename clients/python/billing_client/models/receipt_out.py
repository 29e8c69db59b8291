from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.receipt_out_kind import ReceiptOutKind

T = TypeVar("T", bound="ReceiptOut")


@_attrs_define
class ReceiptOut:
    """A fiscal receipt of the transaction (docs/FISCAL.md); ``fiscal_number``,
    ``ticket_url`` and ``issued_at`` are null while the receipt is owed.

        Attributes:
            amount (str):
            fiscal_number (None | str):
            issued_at (datetime.datetime | None):
            kind (ReceiptOutKind):
            offline (bool):
            ticket_url (None | str):
    """

    amount: str
    fiscal_number: None | str
    issued_at: datetime.datetime | None
    kind: ReceiptOutKind
    offline: bool
    ticket_url: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        amount = self.amount

        fiscal_number: None | str
        fiscal_number = self.fiscal_number

        issued_at: None | str
        if isinstance(self.issued_at, datetime.datetime):
            issued_at = self.issued_at.isoformat()
        else:
            issued_at = self.issued_at

        kind = self.kind.value

        offline = self.offline

        ticket_url: None | str
        ticket_url = self.ticket_url

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "amount": amount,
                "fiscal_number": fiscal_number,
                "issued_at": issued_at,
                "kind": kind,
                "offline": offline,
                "ticket_url": ticket_url,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        amount = d.pop("amount")

        def _parse_fiscal_number(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        fiscal_number = _parse_fiscal_number(d.pop("fiscal_number"))

        def _parse_issued_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                issued_at_type_0 = datetime.datetime.fromisoformat(data)

                return issued_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        issued_at = _parse_issued_at(d.pop("issued_at"))

        kind = ReceiptOutKind(d.pop("kind"))

        offline = d.pop("offline")

        def _parse_ticket_url(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        ticket_url = _parse_ticket_url(d.pop("ticket_url"))

        receipt_out = cls(
            amount=amount,
            fiscal_number=fiscal_number,
            issued_at=issued_at,
            kind=kind,
            offline=offline,
            ticket_url=ticket_url,
        )

        receipt_out.additional_properties = d
        return receipt_out

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
