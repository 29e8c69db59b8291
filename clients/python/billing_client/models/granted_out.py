from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.granted_credits_out import GrantedCreditsOut
    from ..models.granted_plan_out import GrantedPlanOut


T = TypeVar("T", bound="GrantedOut")


@_attrs_define
class GrantedOut:
    """
    Attributes:
        credits_ (GrantedCreditsOut | None | Unset):
        plan (GrantedPlanOut | None | Unset):
    """

    credits_: GrantedCreditsOut | None | Unset = UNSET
    plan: GrantedPlanOut | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.granted_credits_out import GrantedCreditsOut  # noqa: PLC0415
        from ..models.granted_plan_out import GrantedPlanOut  # noqa: PLC0415

        credits_: dict[str, Any] | None | Unset
        if isinstance(self.credits_, Unset):
            credits_ = UNSET
        elif isinstance(self.credits_, GrantedCreditsOut):
            credits_ = self.credits_.to_dict()
        else:
            credits_ = self.credits_

        plan: dict[str, Any] | None | Unset
        if isinstance(self.plan, Unset):
            plan = UNSET
        elif isinstance(self.plan, GrantedPlanOut):
            plan = self.plan.to_dict()
        else:
            plan = self.plan

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if credits_ is not UNSET:
            field_dict["credits"] = credits_
        if plan is not UNSET:
            field_dict["plan"] = plan

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.granted_credits_out import GrantedCreditsOut  # noqa: PLC0415
        from ..models.granted_plan_out import GrantedPlanOut  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_credits_(data: object) -> GrantedCreditsOut | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                credits_type_0 = GrantedCreditsOut.from_dict(data)

                return credits_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(GrantedCreditsOut | None | Unset, data)

        credits_ = _parse_credits_(d.pop("credits", UNSET))

        def _parse_plan(data: object) -> GrantedPlanOut | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                plan_type_0 = GrantedPlanOut.from_dict(data)

                return plan_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(GrantedPlanOut | None | Unset, data)

        plan = _parse_plan(d.pop("plan", UNSET))

        granted_out = cls(
            credits_=credits_,
            plan=plan,
        )

        granted_out.additional_properties = d
        return granted_out

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
