from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.requirement_out_outcome import RequirementOutOutcome
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.requirement_out_error_type_0 import RequirementOutErrorType0


T = TypeVar("T", bound="RequirementOut")


@_attrs_define
class RequirementOut:
    """What publishing (a draft) or resizing (a published event) would need now.

    ``outcome``: ``allowed`` (nothing), ``already_published``, ``confirm_credit`` (one
    upgrade credit would be used: ``error`` is the 409 CREDIT_CONFIRMATION_REQUIRED the
    call would answer, with its ``cta.href``), or ``payment_required`` (``error`` is the
    402 PAYWALL it would answer, with its reason and options). Advice read from committed
    rows: the POST or PATCH decides again under its locks.

        Attributes:
            outcome (RequirementOutOutcome):
            error (None | RequirementOutErrorType0 | Unset):
    """

    outcome: RequirementOutOutcome
    error: None | RequirementOutErrorType0 | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.requirement_out_error_type_0 import RequirementOutErrorType0  # noqa: PLC0415

        outcome = self.outcome.value

        error: dict[str, Any] | None | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        elif isinstance(self.error, RequirementOutErrorType0):
            error = self.error.to_dict()
        else:
            error = self.error

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "outcome": outcome,
            }
        )
        if error is not UNSET:
            field_dict["error"] = error

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.requirement_out_error_type_0 import RequirementOutErrorType0  # noqa: PLC0415

        d = dict(src_dict)
        outcome = RequirementOutOutcome(d.pop("outcome"))

        def _parse_error(data: object) -> None | RequirementOutErrorType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                error_type_0 = RequirementOutErrorType0.from_dict(data)

                return error_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RequirementOutErrorType0 | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        requirement_out = cls(
            outcome=outcome,
            error=error,
        )

        requirement_out.additional_properties = d
        return requirement_out

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
