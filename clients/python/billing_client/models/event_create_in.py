from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="EventCreateIn")


@_attrs_define
class EventCreateIn:
    """
    Attributes:
        max_participants (int | None):
        title (str):
        club_id (None | Unset | UUID):
        is_paid (bool | Unset):  Default: False.
    """

    max_participants: int | None
    title: str
    club_id: None | Unset | UUID = UNSET
    is_paid: bool | Unset = False

    def to_dict(self) -> dict[str, Any]:
        max_participants: int | None
        max_participants = self.max_participants

        title = self.title

        club_id: None | str | Unset
        if isinstance(self.club_id, Unset):
            club_id = UNSET
        elif isinstance(self.club_id, UUID):
            club_id = str(self.club_id)
        else:
            club_id = self.club_id

        is_paid = self.is_paid

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "max_participants": max_participants,
                "title": title,
            }
        )
        if club_id is not UNSET:
            field_dict["club_id"] = club_id
        if is_paid is not UNSET:
            field_dict["is_paid"] = is_paid

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_max_participants(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        max_participants = _parse_max_participants(d.pop("max_participants"))

        title = d.pop("title")

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

        is_paid = d.pop("is_paid", UNSET)

        event_create_in = cls(
            max_participants=max_participants,
            title=title,
            club_id=club_id,
            is_paid=is_paid,
        )

        return event_create_in
