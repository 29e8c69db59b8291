from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.webhook_credit_data_status import WebhookCreditDataStatus

T = TypeVar("T", bound="WebhookCreditData")


@_attrs_define
class WebhookCreditData:
    """One credit after its change (``_credit_event``).

    Attributes:
        credit_code (str):
        credit_id (UUID):
        ordering_key (str): `user:<user_id>`: the events of one key are delivered in `sequence` order.
        sequence (int): 1, 2, 3, ... per `ordering_key`, without gaps: event n+1 of a key is never delivered to an
            endpoint before event n is delivered or dead.
        status (WebhookCreditDataStatus): `consumed`, `revoked`, or `available` again (restored).
        user_id (str): The owner of the credit.
    """

    credit_code: str
    credit_id: UUID
    ordering_key: str
    sequence: int
    status: WebhookCreditDataStatus
    user_id: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        credit_code = self.credit_code

        credit_id = str(self.credit_id)

        ordering_key = self.ordering_key

        sequence = self.sequence

        status = self.status.value

        user_id = self.user_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "credit_code": credit_code,
                "credit_id": credit_id,
                "ordering_key": ordering_key,
                "sequence": sequence,
                "status": status,
                "user_id": user_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        credit_code = d.pop("credit_code")

        credit_id = UUID(d.pop("credit_id"))

        ordering_key = d.pop("ordering_key")

        sequence = d.pop("sequence")

        status = WebhookCreditDataStatus(d.pop("status"))

        user_id = d.pop("user_id")

        webhook_credit_data = cls(
            credit_code=credit_code,
            credit_id=credit_id,
            ordering_key=ordering_key,
            sequence=sequence,
            status=status,
            user_id=user_id,
        )

        webhook_credit_data.additional_properties = d
        return webhook_credit_data

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
