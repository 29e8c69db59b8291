from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="StoryActionOut")


@_attrs_define
class StoryActionOut:
    """
    Attributes:
        action (str):
        amount (None | str):
        at (datetime.datetime):
        detail (None | str):
        operator_id (str):
        outcome (str):
        reason (str):
    """

    action: str
    amount: None | str
    at: datetime.datetime
    detail: None | str
    operator_id: str
    outcome: str
    reason: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        action = self.action

        amount: None | str
        amount = self.amount

        at = self.at.isoformat()

        detail: None | str
        detail = self.detail

        operator_id = self.operator_id

        outcome = self.outcome

        reason = self.reason

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "action": action,
                "amount": amount,
                "at": at,
                "detail": detail,
                "operator_id": operator_id,
                "outcome": outcome,
                "reason": reason,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        action = d.pop("action")

        def _parse_amount(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        amount = _parse_amount(d.pop("amount"))

        at = datetime.datetime.fromisoformat(d.pop("at"))

        def _parse_detail(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        detail = _parse_detail(d.pop("detail"))

        operator_id = d.pop("operator_id")

        outcome = d.pop("outcome")

        reason = d.pop("reason")

        story_action_out = cls(
            action=action,
            amount=amount,
            at=at,
            detail=detail,
            operator_id=operator_id,
            outcome=outcome,
            reason=reason,
        )

        story_action_out.additional_properties = d
        return story_action_out

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
