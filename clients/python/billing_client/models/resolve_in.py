from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.resolve_in_action import ResolveInAction

T = TypeVar("T", bound="ResolveIn")


@_attrs_define
class ResolveIn:
    """
    Attributes:
        action (ResolveInAction):
        reason (str):
    """

    action: ResolveInAction
    reason: str

    def to_dict(self) -> dict[str, Any]:
        action = self.action.value

        reason = self.reason

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "action": action,
                "reason": reason,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        action = ResolveInAction(d.pop("action"))

        reason = d.pop("reason")

        resolve_in = cls(
            action=action,
            reason=reason,
        )

        return resolve_in
