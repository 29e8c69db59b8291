from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.money import Money
    from ..models.product_out_constraints import ProductOutConstraints


T = TypeVar("T", bound="ProductOut")


@_attrs_define
class ProductOut:
    """
    Attributes:
        code (str):
        constraints (ProductOutConstraints):
        plan_id (None | str):
        price (Money):
        title (str):
        type_ (str):
    """

    code: str
    constraints: ProductOutConstraints
    plan_id: None | str
    price: Money
    title: str
    type_: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        code = self.code

        constraints = self.constraints.to_dict()

        plan_id: None | str
        plan_id = self.plan_id

        price = self.price.to_dict()

        title = self.title

        type_ = self.type_

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "code": code,
                "constraints": constraints,
                "plan_id": plan_id,
                "price": price,
                "title": title,
                "type": type_,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.money import Money  # noqa: PLC0415
        from ..models.product_out_constraints import ProductOutConstraints  # noqa: PLC0415

        d = dict(src_dict)
        code = d.pop("code")

        constraints = ProductOutConstraints.from_dict(d.pop("constraints"))

        def _parse_plan_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        plan_id = _parse_plan_id(d.pop("plan_id"))

        price = Money.from_dict(d.pop("price"))

        title = d.pop("title")

        type_ = d.pop("type")

        product_out = cls(
            code=code,
            constraints=constraints,
            plan_id=plan_id,
            price=price,
            title=title,
            type_=type_,
        )

        product_out.additional_properties = d
        return product_out

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
