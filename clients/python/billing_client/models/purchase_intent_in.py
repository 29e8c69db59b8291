from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="PurchaseIntentIn")


@_attrs_define
class PurchaseIntentIn:
    """
    Attributes:
        product_code (str):
        club_id (None | Unset | UUID):
        event_id (None | Unset | UUID):
        quantity (int | Unset):  Default: 1.
    """

    product_code: str
    club_id: None | Unset | UUID = UNSET
    event_id: None | Unset | UUID = UNSET
    quantity: int | Unset = 1

    def to_dict(self) -> dict[str, Any]:
        product_code = self.product_code

        club_id: None | str | Unset
        if isinstance(self.club_id, Unset):
            club_id = UNSET
        elif isinstance(self.club_id, UUID):
            club_id = str(self.club_id)
        else:
            club_id = self.club_id

        event_id: None | str | Unset
        if isinstance(self.event_id, Unset):
            event_id = UNSET
        elif isinstance(self.event_id, UUID):
            event_id = str(self.event_id)
        else:
            event_id = self.event_id

        quantity = self.quantity

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "product_code": product_code,
            }
        )
        if club_id is not UNSET:
            field_dict["club_id"] = club_id
        if event_id is not UNSET:
            field_dict["event_id"] = event_id
        if quantity is not UNSET:
            field_dict["quantity"] = quantity

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        product_code = d.pop("product_code")

        def _parse_club_id(data: object) -> None | Unset | UUID:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                club_id_type_0 = UUID(data)

                return club_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UUID, data)

        club_id = _parse_club_id(d.pop("club_id", UNSET))

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

        quantity = d.pop("quantity", UNSET)

        purchase_intent_in = cls(
            product_code=product_code,
            club_id=club_id,
            event_id=event_id,
            quantity=quantity,
        )

        return purchase_intent_in
