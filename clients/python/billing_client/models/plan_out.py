from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.money import Money


T = TypeVar("T", bound="PlanOut")


@_attrs_define
class PlanOut:
    """
    Attributes:
        csv_export (bool):
        id (str):
        max_event_participants (int | None):
        max_members (int | None):
        paid_events (bool):
        period_days (int):
        price (Money):
        product_code (None | str):
        title (str):
    """

    csv_export: bool
    id: str
    max_event_participants: int | None
    max_members: int | None
    paid_events: bool
    period_days: int
    price: Money
    product_code: None | str
    title: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        csv_export = self.csv_export

        id = self.id

        max_event_participants: int | None
        max_event_participants = self.max_event_participants

        max_members: int | None
        max_members = self.max_members

        paid_events = self.paid_events

        period_days = self.period_days

        price = self.price.to_dict()

        product_code: None | str
        product_code = self.product_code

        title = self.title

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "csv_export": csv_export,
                "id": id,
                "max_event_participants": max_event_participants,
                "max_members": max_members,
                "paid_events": paid_events,
                "period_days": period_days,
                "price": price,
                "product_code": product_code,
                "title": title,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.money import Money  # noqa: PLC0415

        d = dict(src_dict)
        csv_export = d.pop("csv_export")

        id = d.pop("id")

        def _parse_max_event_participants(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        max_event_participants = _parse_max_event_participants(d.pop("max_event_participants"))

        def _parse_max_members(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        max_members = _parse_max_members(d.pop("max_members"))

        paid_events = d.pop("paid_events")

        period_days = d.pop("period_days")

        price = Money.from_dict(d.pop("price"))

        def _parse_product_code(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        product_code = _parse_product_code(d.pop("product_code"))

        title = d.pop("title")

        plan_out = cls(
            csv_export=csv_export,
            id=id,
            max_event_participants=max_event_participants,
            max_members=max_members,
            paid_events=paid_events,
            period_days=period_days,
            price=price,
            product_code=product_code,
            title=title,
        )

        plan_out.additional_properties = d
        return plan_out

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
