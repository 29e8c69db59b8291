from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.granted_out import GrantedOut
    from ..models.history_payment_out import HistoryPaymentOut
    from ..models.late_outcome_out import LateOutcomeOut
    from ..models.receipt_out import ReceiptOut


T = TypeVar("T", bound="HistoryItemOut")


@_attrs_define
class HistoryItemOut:
    """
    Attributes:
        amount (str):
        club_id (None | UUID):
        created_at (datetime.datetime):
        currency (str):
        expires_at (datetime.datetime):
        granted (GrantedOut | None):
        payment (HistoryPaymentOut):
        poll_interval_s (int):
        product_code (str):
        quantity (int):
        receipts (list[ReceiptOut]):
        settled_at (datetime.datetime | None):
        status (str):
        transaction_id (UUID):
        updated_at (datetime.datetime):
        event_id (None | Unset | UUID):
        late (LateOutcomeOut | None | Unset):
    """

    amount: str
    club_id: None | UUID
    created_at: datetime.datetime
    currency: str
    expires_at: datetime.datetime
    granted: GrantedOut | None
    payment: HistoryPaymentOut
    poll_interval_s: int
    product_code: str
    quantity: int
    receipts: list[ReceiptOut]
    settled_at: datetime.datetime | None
    status: str
    transaction_id: UUID
    updated_at: datetime.datetime
    event_id: None | Unset | UUID = UNSET
    late: LateOutcomeOut | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.granted_out import GrantedOut  # noqa: PLC0415
        from ..models.late_outcome_out import LateOutcomeOut  # noqa: PLC0415

        amount = self.amount

        club_id: None | str
        if isinstance(self.club_id, UUID):
            club_id = str(self.club_id)
        else:
            club_id = self.club_id

        created_at = self.created_at.isoformat()

        currency = self.currency

        expires_at = self.expires_at.isoformat()

        granted: dict[str, Any] | None
        if isinstance(self.granted, GrantedOut):
            granted = self.granted.to_dict()
        else:
            granted = self.granted

        payment = self.payment.to_dict()

        poll_interval_s = self.poll_interval_s

        product_code = self.product_code

        quantity = self.quantity

        receipts = []
        for receipts_item_data in self.receipts:
            receipts_item = receipts_item_data.to_dict()
            receipts.append(receipts_item)

        settled_at: None | str
        if isinstance(self.settled_at, datetime.datetime):
            settled_at = self.settled_at.isoformat()
        else:
            settled_at = self.settled_at

        status = self.status

        transaction_id = str(self.transaction_id)

        updated_at = self.updated_at.isoformat()

        event_id: None | str | Unset
        if isinstance(self.event_id, Unset):
            event_id = UNSET
        elif isinstance(self.event_id, UUID):
            event_id = str(self.event_id)
        else:
            event_id = self.event_id

        late: dict[str, Any] | None | Unset
        if isinstance(self.late, Unset):
            late = UNSET
        elif isinstance(self.late, LateOutcomeOut):
            late = self.late.to_dict()
        else:
            late = self.late

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "amount": amount,
                "club_id": club_id,
                "created_at": created_at,
                "currency": currency,
                "expires_at": expires_at,
                "granted": granted,
                "payment": payment,
                "poll_interval_s": poll_interval_s,
                "product_code": product_code,
                "quantity": quantity,
                "receipts": receipts,
                "settled_at": settled_at,
                "status": status,
                "transaction_id": transaction_id,
                "updated_at": updated_at,
            }
        )
        if event_id is not UNSET:
            field_dict["event_id"] = event_id
        if late is not UNSET:
            field_dict["late"] = late

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.granted_out import GrantedOut  # noqa: PLC0415
        from ..models.history_payment_out import HistoryPaymentOut  # noqa: PLC0415
        from ..models.late_outcome_out import LateOutcomeOut  # noqa: PLC0415
        from ..models.receipt_out import ReceiptOut  # noqa: PLC0415

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

        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))

        def _parse_granted(data: object) -> GrantedOut | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                granted_type_0 = GrantedOut.from_dict(data)

                return granted_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(GrantedOut | None, data)

        granted = _parse_granted(d.pop("granted"))

        payment = HistoryPaymentOut.from_dict(d.pop("payment"))

        poll_interval_s = d.pop("poll_interval_s")

        product_code = d.pop("product_code")

        quantity = d.pop("quantity")

        receipts = []
        _receipts = d.pop("receipts")
        for receipts_item_data in _receipts:
            receipts_item = ReceiptOut.from_dict(receipts_item_data)

            receipts.append(receipts_item)

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

        def _parse_event_id(data: object) -> None | Unset | UUID:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                event_id_type_0 = UUID(data)

                return event_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UUID, data)

        event_id = _parse_event_id(d.pop("event_id", UNSET))

        def _parse_late(data: object) -> LateOutcomeOut | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                late_type_0 = LateOutcomeOut.from_dict(data)

                return late_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(LateOutcomeOut | None | Unset, data)

        late = _parse_late(d.pop("late", UNSET))

        history_item_out = cls(
            amount=amount,
            club_id=club_id,
            created_at=created_at,
            currency=currency,
            expires_at=expires_at,
            granted=granted,
            payment=payment,
            poll_interval_s=poll_interval_s,
            product_code=product_code,
            quantity=quantity,
            receipts=receipts,
            settled_at=settled_at,
            status=status,
            transaction_id=transaction_id,
            updated_at=updated_at,
            event_id=event_id,
            late=late,
        )

        history_item_out.additional_properties = d
        return history_item_out

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
