from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.late_outcome_out_after import LateOutcomeOutAfter
from ..models.late_outcome_out_outcome import LateOutcomeOutOutcome

T = TypeVar("T", bound="LateOutcomeOut")


@_attrs_define
class LateOutcomeOut:
    """A payment that came after the purchase had closed unpaid, and what the policy did.

    Attributes:
        after (LateOutcomeOutAfter):
        at (datetime.datetime):
        outcome (LateOutcomeOutOutcome):
    """

    after: LateOutcomeOutAfter
    at: datetime.datetime
    outcome: LateOutcomeOutOutcome
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        after = self.after.value

        at = self.at.isoformat()

        outcome = self.outcome.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "after": after,
                "at": at,
                "outcome": outcome,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        after = LateOutcomeOutAfter(d.pop("after"))

        at = datetime.datetime.fromisoformat(d.pop("at"))

        outcome = LateOutcomeOutOutcome(d.pop("outcome"))

        late_outcome_out = cls(
            after=after,
            at=at,
            outcome=outcome,
        )

        late_outcome_out.additional_properties = d
        return late_outcome_out

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
