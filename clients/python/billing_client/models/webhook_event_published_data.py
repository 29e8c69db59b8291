from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="WebhookEventPublishedData")


@_attrs_define
class WebhookEventPublishedData:
    """A platform event was published (``_publish``).

    Attributes:
        club_id (None | UUID):
        event_id (UUID):
        max_participants (int | None): null: no limit.
        ordering_key (str): `event:<event_id>`: the events of one key are delivered in `sequence` order.
        sequence (int): 1, 2, 3, ... per `ordering_key`, without gaps: event n+1 of a key is never delivered to an
            endpoint before event n is delivered or dead.
        status (Literal['published']):
        upgraded_by_credit (bool): True when publishing consumed a credit.
        user_id (str): The event's owner.
    """

    club_id: None | UUID
    event_id: UUID
    max_participants: int | None
    ordering_key: str
    sequence: int
    status: Literal["published"]
    upgraded_by_credit: bool
    user_id: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        club_id: None | str
        if isinstance(self.club_id, UUID):
            club_id = str(self.club_id)
        else:
            club_id = self.club_id

        event_id = str(self.event_id)

        max_participants: int | None
        max_participants = self.max_participants

        ordering_key = self.ordering_key

        sequence = self.sequence

        status = self.status

        upgraded_by_credit = self.upgraded_by_credit

        user_id = self.user_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "club_id": club_id,
                "event_id": event_id,
                "max_participants": max_participants,
                "ordering_key": ordering_key,
                "sequence": sequence,
                "status": status,
                "upgraded_by_credit": upgraded_by_credit,
                "user_id": user_id,
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

        event_id = UUID(d.pop("event_id"))

        def _parse_max_participants(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        max_participants = _parse_max_participants(d.pop("max_participants"))

        ordering_key = d.pop("ordering_key")

        sequence = d.pop("sequence")

        status = cast(Literal["published"], d.pop("status"))
        if status != "published":
            raise ValueError(f"status must match const 'published', got '{status}'")

        upgraded_by_credit = d.pop("upgraded_by_credit")

        user_id = d.pop("user_id")

        webhook_event_published_data = cls(
            club_id=club_id,
            event_id=event_id,
            max_participants=max_participants,
            ordering_key=ordering_key,
            sequence=sequence,
            status=status,
            upgraded_by_credit=upgraded_by_credit,
            user_id=user_id,
        )

        webhook_event_published_data.additional_properties = d
        return webhook_event_published_data

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
