from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.plan_out import PlanOut
    from ..models.policy_out import PolicyOut
    from ..models.product_out import ProductOut


T = TypeVar("T", bound="CatalogOut")


@_attrs_define
class CatalogOut:
    """
    Attributes:
        plans (list[PlanOut]):
        policy (PolicyOut):
        products (list[ProductOut]):
    """

    plans: list[PlanOut]
    policy: PolicyOut
    products: list[ProductOut]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        plans = []
        for plans_item_data in self.plans:
            plans_item = plans_item_data.to_dict()
            plans.append(plans_item)

        policy = self.policy.to_dict()

        products = []
        for products_item_data in self.products:
            products_item = products_item_data.to_dict()
            products.append(products_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "plans": plans,
                "policy": policy,
                "products": products,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.plan_out import PlanOut  # noqa: PLC0415
        from ..models.policy_out import PolicyOut  # noqa: PLC0415
        from ..models.product_out import ProductOut  # noqa: PLC0415

        d = dict(src_dict)
        plans = []
        _plans = d.pop("plans")
        for plans_item_data in _plans:
            plans_item = PlanOut.from_dict(plans_item_data)

            plans.append(plans_item)

        policy = PolicyOut.from_dict(d.pop("policy"))

        products = []
        _products = d.pop("products")
        for products_item_data in _products:
            products_item = ProductOut.from_dict(products_item_data)

            products.append(products_item)

        catalog_out = cls(
            plans=plans,
            policy=policy,
            products=products,
        )

        catalog_out.additional_properties = d
        return catalog_out

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
