from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="WebhookCreditGrantedData")


@_attrs_define
class WebhookCreditGrantedData:
    """New credits from a paid purchase (``credits_granted``).

    Attributes:
        credit_code (str):
        credit_ids (list[UUID]): Their ids, sorted.
        ordering_key (str): `user:<user_id>`: the events of one key are delivered in `sequence` order.
        quantity (int): How many credits were granted.
        reason (str):
        sequence (int): 1, 2, 3, ... per `ordering_key`, without gaps: event n+1 of a key is never delivered to an
            endpoint before event n is delivered or dead.
        transaction_id (UUID): The purchase that granted them.
        user_id (str): The owner of the credits.
    """

    credit_code: str
    credit_ids: list[UUID]
    ordering_key: str
    quantity: int
    reason: str
    sequence: int
    transaction_id: UUID
    user_id: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        credit_code = self.credit_code

        credit_ids = []
        for credit_ids_item_data in self.credit_ids:
            credit_ids_item = str(credit_ids_item_data)
            credit_ids.append(credit_ids_item)

        ordering_key = self.ordering_key

        quantity = self.quantity

        reason = self.reason

        sequence = self.sequence

        transaction_id = str(self.transaction_id)

        user_id = self.user_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "credit_code": credit_code,
                "credit_ids": credit_ids,
                "ordering_key": ordering_key,
                "quantity": quantity,
                "reason": reason,
                "sequence": sequence,
                "transaction_id": transaction_id,
                "user_id": user_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        credit_code = d.pop("credit_code")

        credit_ids = []
        _credit_ids = d.pop("credit_ids")
        for credit_ids_item_data in _credit_ids:
            credit_ids_item = UUID(credit_ids_item_data)

            credit_ids.append(credit_ids_item)

        ordering_key = d.pop("ordering_key")

        quantity = d.pop("quantity")

        reason = d.pop("reason")

        sequence = d.pop("sequence")

        transaction_id = UUID(d.pop("transaction_id"))

        user_id = d.pop("user_id")

        webhook_credit_granted_data = cls(
            credit_code=credit_code,
            credit_ids=credit_ids,
            ordering_key=ordering_key,
            quantity=quantity,
            reason=reason,
            sequence=sequence,
            transaction_id=transaction_id,
            user_id=user_id,
        )

        webhook_credit_granted_data.additional_properties = d
        return webhook_credit_granted_data

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
