from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.member_add_in_role import MemberAddInRole
from ..types import UNSET, Unset

T = TypeVar("T", bound="MemberAddIn")


@_attrs_define
class MemberAddIn:
    """
    Attributes:
        user_id (str):
        role (MemberAddInRole | Unset):  Default: MemberAddInRole.MEMBER.
    """

    user_id: str
    role: MemberAddInRole | Unset = MemberAddInRole.MEMBER

    def to_dict(self) -> dict[str, Any]:
        user_id = self.user_id

        role: str | Unset = UNSET
        if not isinstance(self.role, Unset):
            role = self.role.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "user_id": user_id,
            }
        )
        if role is not UNSET:
            field_dict["role"] = role

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        user_id = d.pop("user_id")

        _role = d.pop("role", UNSET)
        role: MemberAddInRole | Unset
        if isinstance(_role, Unset):
            role = UNSET
        else:
            role = MemberAddInRole(_role)

        member_add_in = cls(
            user_id=user_id,
            role=role,
        )

        return member_add_in
