from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="EventOut")


@_attrs_define
class EventOut:
    """
    Attributes:
        club_id (None | UUID):
        created_at (datetime.datetime):
        id (UUID):
        is_paid (bool):
        max_participants (int | None):
        owner_id (str):
        published_at (datetime.datetime | None):
        title (str):
        updated_at (datetime.datetime):
        upgraded_by_credit (bool):
    """

    club_id: None | UUID
    created_at: datetime.datetime
    id: UUID
    is_paid: bool
    max_participants: int | None
    owner_id: str
    published_at: datetime.datetime | None
    title: str
    updated_at: datetime.datetime
    upgraded_by_credit: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        club_id: None | str
        if isinstance(self.club_id, UUID):
            club_id = str(self.club_id)
        else:
            club_id = self.club_id

        created_at = self.created_at.isoformat()

        id = str(self.id)

        is_paid = self.is_paid

        max_participants: int | None
        max_participants = self.max_participants

        owner_id = self.owner_id

        published_at: None | str
        if isinstance(self.published_at, datetime.datetime):
            published_at = self.published_at.isoformat()
        else:
            published_at = self.published_at

        title = self.title

        updated_at = self.updated_at.isoformat()

        upgraded_by_credit = self.upgraded_by_credit

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "club_id": club_id,
                "created_at": created_at,
                "id": id,
                "is_paid": is_paid,
                "max_participants": max_participants,
                "owner_id": owner_id,
                "published_at": published_at,
                "title": title,
                "updated_at": updated_at,
                "upgraded_by_credit": upgraded_by_credit,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_club_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                club_id_type_0 = UUID(data)

                return club_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        club_id = _parse_club_id(d.pop("club_id"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        id = UUID(d.pop("id"))

        is_paid = d.pop("is_paid")

        def _parse_max_participants(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        max_participants = _parse_max_participants(d.pop("max_participants"))

        owner_id = d.pop("owner_id")

        def _parse_published_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                published_at_type_0 = datetime.datetime.fromisoformat(data)

                return published_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        published_at = _parse_published_at(d.pop("published_at"))

        title = d.pop("title")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        upgraded_by_credit = d.pop("upgraded_by_credit")

        event_out = cls(
            club_id=club_id,
            created_at=created_at,
            id=id,
            is_paid=is_paid,
            max_participants=max_participants,
            owner_id=owner_id,
            published_at=published_at,
            title=title,
            updated_at=updated_at,
            upgraded_by_credit=upgraded_by_credit,
        )

        event_out.additional_properties = d
        return event_out

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
