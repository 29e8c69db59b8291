from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.reminder_out import ReminderOut


T = TypeVar("T", bound="RenewalOut")


@_attrs_define
class RenewalOut:
    """
    Attributes:
        due_at (datetime.datetime): The end of the paid period: pay before it.
        reminders_sent (list[ReminderOut]): This period's reminders, in order.
        transaction_id (None | UUID): The renewal (or upgrade) waiting for payment, if there is one.
    """

    due_at: datetime.datetime
    reminders_sent: list[ReminderOut]
    transaction_id: None | UUID
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        due_at = self.due_at.isoformat()

        reminders_sent = []
        for reminders_sent_item_data in self.reminders_sent:
            reminders_sent_item = reminders_sent_item_data.to_dict()
            reminders_sent.append(reminders_sent_item)

        transaction_id: None | str
        if isinstance(self.transaction_id, UUID):
            transaction_id = str(self.transaction_id)
        else:
            transaction_id = self.transaction_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "due_at": due_at,
                "reminders_sent": reminders_sent,
                "transaction_id": transaction_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.reminder_out import ReminderOut  # noqa: PLC0415

        d = dict(src_dict)
        due_at = datetime.datetime.fromisoformat(d.pop("due_at"))

        reminders_sent = []
        _reminders_sent = d.pop("reminders_sent")
        for reminders_sent_item_data in _reminders_sent:
            reminders_sent_item = ReminderOut.from_dict(reminders_sent_item_data)

            reminders_sent.append(reminders_sent_item)

        def _parse_transaction_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                transaction_id_type_0 = UUID(data)

                return transaction_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        transaction_id = _parse_transaction_id(d.pop("transaction_id"))

        renewal_out = cls(
            due_at=due_at,
            reminders_sent=reminders_sent,
            transaction_id=transaction_id,
        )

        renewal_out.additional_properties = d
        return renewal_out

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
