from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.webhook_receipt_issued_data_kind import WebhookReceiptIssuedDataKind

T = TypeVar("T", bound="WebhookReceiptIssuedData")


@_attrs_define
class WebhookReceiptIssuedData:
    """A fiscal receipt the cloud register issued (``mark_issued``, docs/FISCAL.md).

    Attributes:
        amount (str): What the receipt is for (a return: the amount refunded).
        club_id (None | UUID):
        currency (str):
        fiscal_number (str): The register's fiscal number of the receipt.
        issued_at (datetime.datetime):
        kind (WebhookReceiptIssuedDataKind): `sale` for a completed transaction, `return` for each refund.
        offline (bool): Issued in the register's offline mode (sent to the OFD later).
        ordering_key (str): `transaction:<transaction_id>`: the events of one key are delivered in `sequence` order.
        receipt_id (str): Our id of the receipt.
        sequence (int): 1, 2, 3, ... per `ordering_key`, without gaps: event n+1 of a key is never delivered to an
            endpoint before event n is delivered or dead.
        ticket_url (str): The receipt's page at the register / OFD.
        transaction_id (UUID):
        user_id (None | str): The buyer.
    """

    amount: str
    club_id: None | UUID
    currency: str
    fiscal_number: str
    issued_at: datetime.datetime
    kind: WebhookReceiptIssuedDataKind
    offline: bool
    ordering_key: str
    receipt_id: str
    sequence: int
    ticket_url: str
    transaction_id: UUID
    user_id: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        amount = self.amount

        club_id: None | str
        if isinstance(self.club_id, UUID):
            club_id = str(self.club_id)
        else:
            club_id = self.club_id

        currency = self.currency

        fiscal_number = self.fiscal_number

        issued_at = self.issued_at.isoformat()

        kind = self.kind.value

        offline = self.offline

        ordering_key = self.ordering_key

        receipt_id = self.receipt_id

        sequence = self.sequence

        ticket_url = self.ticket_url

        transaction_id = str(self.transaction_id)

        user_id: None | str
        user_id = self.user_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "amount": amount,
                "club_id": club_id,
                "currency": currency,
                "fiscal_number": fiscal_number,
                "issued_at": issued_at,
                "kind": kind,
                "offline": offline,
                "ordering_key": ordering_key,
                "receipt_id": receipt_id,
                "sequence": sequence,
                "ticket_url": ticket_url,
                "transaction_id": transaction_id,
                "user_id": user_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        amount = d.pop("amount")

        def _parse_club_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                club_id_type_0 = UUID(data)

                return club_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        club_id = _parse_club_id(d.pop("club_id"))

        currency = d.pop("currency")

        fiscal_number = d.pop("fiscal_number")

        issued_at = datetime.datetime.fromisoformat(d.pop("issued_at"))

        kind = WebhookReceiptIssuedDataKind(d.pop("kind"))

        offline = d.pop("offline")

        ordering_key = d.pop("ordering_key")

        receipt_id = d.pop("receipt_id")

        sequence = d.pop("sequence")

        ticket_url = d.pop("ticket_url")

        transaction_id = UUID(d.pop("transaction_id"))

        def _parse_user_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        user_id = _parse_user_id(d.pop("user_id"))

        webhook_receipt_issued_data = cls(
            amount=amount,
            club_id=club_id,
            currency=currency,
            fiscal_number=fiscal_number,
            issued_at=issued_at,
            kind=kind,
            offline=offline,
            ordering_key=ordering_key,
            receipt_id=receipt_id,
            sequence=sequence,
            ticket_url=ticket_url,
            transaction_id=transaction_id,
            user_id=user_id,
        )

        webhook_receipt_issued_data.additional_properties = d
        return webhook_receipt_issued_data

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
