from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.ops_transaction_out import OpsTransactionOut
    from ..models.refundable_out import RefundableOut
    from ..models.review_item_out import ReviewItemOut
    from ..models.story_action_out import StoryActionOut
    from ..models.story_attempt_out import StoryAttemptOut
    from ..models.story_event_out import StoryEventOut
    from ..models.story_out_credits import StoryOutCredits
    from ..models.story_refund_out import StoryRefundOut


T = TypeVar("T", bound="StoryOut")


@_attrs_define
class StoryOut:
    """
    Attributes:
        credits_ (StoryOutCredits):
        events (list[StoryEventOut]):
        operator_actions (list[StoryActionOut]):
        refund_attempts (list[StoryAttemptOut]):
        refundable (RefundableOut): What each refund would return now; null: it would be refused.
        refunds (list[StoryRefundOut]):
        review (None | ReviewItemOut):
        transaction (OpsTransactionOut):
    """

    credits_: StoryOutCredits
    events: list[StoryEventOut]
    operator_actions: list[StoryActionOut]
    refund_attempts: list[StoryAttemptOut]
    refundable: RefundableOut
    refunds: list[StoryRefundOut]
    review: None | ReviewItemOut
    transaction: OpsTransactionOut
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.review_item_out import ReviewItemOut  # noqa: PLC0415

        credits_ = self.credits_.to_dict()

        events = []
        for events_item_data in self.events:
            events_item = events_item_data.to_dict()
            events.append(events_item)

        operator_actions = []
        for operator_actions_item_data in self.operator_actions:
            operator_actions_item = operator_actions_item_data.to_dict()
            operator_actions.append(operator_actions_item)

        refund_attempts = []
        for refund_attempts_item_data in self.refund_attempts:
            refund_attempts_item = refund_attempts_item_data.to_dict()
            refund_attempts.append(refund_attempts_item)

        refundable = self.refundable.to_dict()

        refunds = []
        for refunds_item_data in self.refunds:
            refunds_item = refunds_item_data.to_dict()
            refunds.append(refunds_item)

        review: dict[str, Any] | None
        if isinstance(self.review, ReviewItemOut):
            review = self.review.to_dict()
        else:
            review = self.review

        transaction = self.transaction.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "credits": credits_,
                "events": events,
                "operator_actions": operator_actions,
                "refund_attempts": refund_attempts,
                "refundable": refundable,
                "refunds": refunds,
                "review": review,
                "transaction": transaction,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.ops_transaction_out import OpsTransactionOut  # noqa: PLC0415
        from ..models.refundable_out import RefundableOut  # noqa: PLC0415
        from ..models.review_item_out import ReviewItemOut  # noqa: PLC0415
        from ..models.story_action_out import StoryActionOut  # noqa: PLC0415
        from ..models.story_attempt_out import StoryAttemptOut  # noqa: PLC0415
        from ..models.story_event_out import StoryEventOut  # noqa: PLC0415
        from ..models.story_out_credits import StoryOutCredits  # noqa: PLC0415
        from ..models.story_refund_out import StoryRefundOut  # noqa: PLC0415

        d = dict(src_dict)
        credits_ = StoryOutCredits.from_dict(d.pop("credits"))

        events = []
        _events = d.pop("events")
        for events_item_data in _events:
            events_item = StoryEventOut.from_dict(events_item_data)

            events.append(events_item)

        operator_actions = []
        _operator_actions = d.pop("operator_actions")
        for operator_actions_item_data in _operator_actions:
            operator_actions_item = StoryActionOut.from_dict(operator_actions_item_data)

            operator_actions.append(operator_actions_item)

        refund_attempts = []
        _refund_attempts = d.pop("refund_attempts")
        for refund_attempts_item_data in _refund_attempts:
            refund_attempts_item = StoryAttemptOut.from_dict(refund_attempts_item_data)

            refund_attempts.append(refund_attempts_item)

        refundable = RefundableOut.from_dict(d.pop("refundable"))

        refunds = []
        _refunds = d.pop("refunds")
        for refunds_item_data in _refunds:
            refunds_item = StoryRefundOut.from_dict(refunds_item_data)

            refunds.append(refunds_item)

        def _parse_review(data: object) -> None | ReviewItemOut:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                review_type_0 = ReviewItemOut.from_dict(data)

                return review_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ReviewItemOut, data)

        review = _parse_review(d.pop("review"))

        transaction = OpsTransactionOut.from_dict(d.pop("transaction"))

        story_out = cls(
            credits_=credits_,
            events=events,
            operator_actions=operator_actions,
            refund_attempts=refund_attempts,
            refundable=refundable,
            refunds=refunds,
            review=review,
            transaction=transaction,
        )

        story_out.additional_properties = d
        return story_out

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
