from enum import StrEnum


class WebhookCreditConsumedDataStatus(StrEnum):
    AVAILABLE = "available"
    CONSUMED = "consumed"
    REVOKED = "revoked"

    def __str__(self) -> str:
        return str(self.value)
