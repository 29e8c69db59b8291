from enum import StrEnum


class WebhookCreditDataStatus(StrEnum):
    AVAILABLE = "available"
    CONSUMED = "consumed"
    REVOKED = "revoked"

    def __str__(self) -> str:
        return str(self.value)
