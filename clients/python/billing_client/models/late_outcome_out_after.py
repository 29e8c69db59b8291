from enum import StrEnum


class LateOutcomeOutAfter(StrEnum):
    CANCELED = "canceled"
    EXPIRED = "expired"
    FAILED = "failed"

    def __str__(self) -> str:
        return str(self.value)
