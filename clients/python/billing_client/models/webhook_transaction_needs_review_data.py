from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.webhook_transaction_needs_review_data_status import WebhookTransactionNeedsReviewDataStatus

T = TypeVar("T", bound="WebhookTransactionNeedsReviewData")


@_attrs_define
class WebhookTransactionNeedsReviewData:
    """Held for an operator: nothing is granted until the review resolves it.

    Attributes:
        amount (str): An amount as a string with two decimals (never a float).
        club_id (None | UUID): The club a club plan was bought for.
        currency (str):
        ordering_key (str): `transaction:<transaction_id>`: the events of one key are delivered in `sequence` order.
        product_code (str):
        quantity (int):
        reason (None | str): Why it is held (the audit note), for people.
        sequence (int): 1, 2, 3, ... per `ordering_key`, without gaps: event n+1 of a key is never delivered to an
            endpoint before event n is delivered or dead.
        status (WebhookTransactionNeedsReviewDataStatus): The transaction's status after the change.
        transaction_id (UUID):
        user_id (str): The buyer.
    """

    amount: str
    club_id: None | UUID
    currency: str
    ordering_key: str
    product_code: str
    quantity: int
    reason: None | str
    sequence: int
    status: WebhookTransactionNeedsReviewDataStatus
    transaction_id: UUID
    user_id: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        amount = self.amount

        club_id: None | str
        if isinstance(self.club_id, UUID):
            club_id = str(self.club_id)
        else:
            club_id = self.club_id

        currency = self.currency

        ordering_key = self.ordering_key

        product_code = self.product_code

        quantity = self.quantity

        reason: None | str
        reason = self.reason

        sequence = self.sequence

        status = self.status.value

        transaction_id = str(self.transaction_id)

        user_id = self.user_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "amount": amount,
                "club_id": club_id,
                "currency": currency,
                "ordering_key": ordering_key,
                "product_code": product_code,
                "quantity": quantity,
                "reason": reason,
                "sequence": sequence,
                "status": status,
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

        ordering_key = d.pop("ordering_key")

        product_code = d.pop("product_code")

        quantity = d.pop("quantity")

        def _parse_reason(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        reason = _parse_reason(d.pop("reason"))

        sequence = d.pop("sequence")

        status = WebhookTransactionNeedsReviewDataStatus(d.pop("status"))

        transaction_id = UUID(d.pop("transaction_id"))

        user_id = d.pop("user_id")

        webhook_transaction_needs_review_data = cls(
            amount=amount,
            club_id=club_id,
            currency=currency,
            ordering_key=ordering_key,
            product_code=product_code,
            quantity=quantity,
            reason=reason,
            sequence=sequence,
            status=status,
            transaction_id=transaction_id,
            user_id=user_id,
        )

        webhook_transaction_needs_review_data.additional_properties = d
        return webhook_transaction_needs_review_data

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
