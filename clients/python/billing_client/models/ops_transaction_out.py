from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="OpsTransactionOut")


@_attrs_define
class OpsTransactionOut:
    """
    Attributes:
        amount (str):
        club_id (None | UUID):
        created_at (datetime.datetime):
        currency (str):
        product_code (str):
        provider_payment_id (None | str):
        quantity (int):
        refunded_amount (str):
        settled_at (datetime.datetime | None):
        status (str):
        transaction_id (UUID):
        updated_at (datetime.datetime):
        user_id (str):
    """

    amount: str
    club_id: None | UUID
    created_at: datetime.datetime
    currency: str
    product_code: str
    provider_payment_id: None | str
    quantity: int
    refunded_amount: str
    settled_at: datetime.datetime | None
    status: str
    transaction_id: UUID
    updated_at: datetime.datetime
    user_id: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        amount = self.amount

        club_id: None | str
        if isinstance(self.club_id, UUID):
            club_id = str(self.club_id)
        else:
            club_id = self.club_id

        created_at = self.created_at.isoformat()

        currency = self.currency

        product_code = self.product_code

        provider_payment_id: None | str
        provider_payment_id = self.provider_payment_id

        quantity = self.quantity

        refunded_amount = self.refunded_amount

        settled_at: None | str
        if isinstance(self.settled_at, datetime.datetime):
            settled_at = self.settled_at.isoformat()
        else:
            settled_at = self.settled_at

        status = self.status

        transaction_id = str(self.transaction_id)

        updated_at = self.updated_at.isoformat()

        user_id = self.user_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "amount": amount,
                "club_id": club_id,
                "created_at": created_at,
                "currency": currency,
                "product_code": product_code,
                "provider_payment_id": provider_payment_id,
                "quantity": quantity,
                "refunded_amount": refunded_amount,
                "settled_at": settled_at,
                "status": status,
                "transaction_id": transaction_id,
                "updated_at": updated_at,
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

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        currency = d.pop("currency")

        product_code = d.pop("product_code")

        def _parse_provider_payment_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        provider_payment_id = _parse_provider_payment_id(d.pop("provider_payment_id"))

        quantity = d.pop("quantity")

        refunded_amount = d.pop("refunded_amount")

        def _parse_settled_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                settled_at_type_0 = datetime.datetime.fromisoformat(data)

                return settled_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        settled_at = _parse_settled_at(d.pop("settled_at"))

        status = d.pop("status")

        transaction_id = UUID(d.pop("transaction_id"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        user_id = d.pop("user_id")

        ops_transaction_out = cls(
            amount=amount,
            club_id=club_id,
            created_at=created_at,
            currency=currency,
            product_code=product_code,
            provider_payment_id=provider_payment_id,
            quantity=quantity,
            refunded_amount=refunded_amount,
            settled_at=settled_at,
            status=status,
            transaction_id=transaction_id,
            updated_at=updated_at,
            user_id=user_id,
        )

        ops_transaction_out.additional_properties = d
        return ops_transaction_out

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
