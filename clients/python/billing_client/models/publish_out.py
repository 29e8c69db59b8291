from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="PublishOut")


@_attrs_define
class PublishOut:
    """
    Attributes:
        already_published (bool):
        credit_consumed (bool):
        event_id (UUID):
        published_at (datetime.datetime):
    """

    already_published: bool
    credit_consumed: bool
    event_id: UUID
    published_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        already_published = self.already_published

        credit_consumed = self.credit_consumed

        event_id = str(self.event_id)

        published_at = self.published_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "already_published": already_published,
                "credit_consumed": credit_consumed,
                "event_id": event_id,
                "published_at": published_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        already_published = d.pop("already_published")

        credit_consumed = d.pop("credit_consumed")

        event_id = UUID(d.pop("event_id"))

        published_at = datetime.datetime.fromisoformat(d.pop("published_at"))

        publish_out = cls(
            already_published=already_published,
            credit_consumed=credit_consumed,
            event_id=event_id,
            published_at=published_at,
        )

        publish_out.additional_properties = d
        return publish_out

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
