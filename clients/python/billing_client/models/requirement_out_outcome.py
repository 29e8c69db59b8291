from enum import StrEnum


class RequirementOutOutcome(StrEnum):
    ALLOWED = "allowed"
    ALREADY_PUBLISHED = "already_published"
    CONFIRM_CREDIT = "confirm_credit"
    PAYMENT_REQUIRED = "payment_required"

    def __str__(self) -> str:
        return str(self.value)
