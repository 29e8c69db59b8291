from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ActedOut")


@_attrs_define
class ActedOut:
    """
    Attributes:
        action_id (int):
        refunded_amount (str):
        status (str):
        transaction_id (UUID):
    """

    action_id: int
    refunded_amount: str
    status: str
    transaction_id: UUID
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        action_id = self.action_id

        refunded_amount = self.refunded_amount

        status = self.status

        transaction_id = str(self.transaction_id)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "action_id": action_id,
                "refunded_amount": refunded_amount,
                "status": status,
                "transaction_id": transaction_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        action_id = d.pop("action_id")

        refunded_amount = d.pop("refunded_amount")

        status = d.pop("status")

        transaction_id = UUID(d.pop("transaction_id"))

        acted_out = cls(
            action_id=action_id,
            refunded_amount=refunded_amount,
            status=status,
            transaction_id=transaction_id,
        )

        acted_out.additional_properties = d
        return acted_out

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
