from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ReviewItemOut")


@_attrs_define
class ReviewItemOut:
    """
    Attributes:
        age_s (int):
        amount (str):
        product_code (str):
        provider_amount (None | str):
        provider_status (None | str):
        reason (None | str):
        since (datetime.datetime):
        transaction_id (UUID):
        user_id (str):
        why (str):
    """

    age_s: int
    amount: str
    product_code: str
    provider_amount: None | str
    provider_status: None | str
    reason: None | str
    since: datetime.datetime
    transaction_id: UUID
    user_id: str
    why: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        age_s = self.age_s

        amount = self.amount

        product_code = self.product_code

        provider_amount: None | str
        provider_amount = self.provider_amount

        provider_status: None | str
        provider_status = self.provider_status

        reason: None | str
        reason = self.reason

        since = self.since.isoformat()

        transaction_id = str(self.transaction_id)

        user_id = self.user_id

        why = self.why

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "age_s": age_s,
                "amount": amount,
                "product_code": product_code,
                "provider_amount": provider_amount,
                "provider_status": provider_status,
                "reason": reason,
                "since": since,
                "transaction_id": transaction_id,
                "user_id": user_id,
                "why": why,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        age_s = d.pop("age_s")

        amount = d.pop("amount")

        product_code = d.pop("product_code")

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

        def _parse_reason(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        reason = _parse_reason(d.pop("reason"))

        since = datetime.datetime.fromisoformat(d.pop("since"))

        transaction_id = UUID(d.pop("transaction_id"))

        user_id = d.pop("user_id")

        why = d.pop("why")

        review_item_out = cls(
            age_s=age_s,
            amount=amount,
            product_code=product_code,
            provider_amount=provider_amount,
            provider_status=provider_status,
            reason=reason,
            since=since,
            transaction_id=transaction_id,
            user_id=user_id,
            why=why,
        )

        review_item_out.additional_properties = d
        return review_item_out

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
