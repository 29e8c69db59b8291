from enum import StrEnum


class LateOutcomeOutOutcome(StrEnum):
    COMPLETED = "completed"
    NEEDS_REVIEW = "needs_review"
    REFUNDED = "refunded"

    def __str__(self) -> str:
        return str(self.value)
