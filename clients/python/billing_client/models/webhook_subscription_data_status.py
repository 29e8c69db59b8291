from enum import StrEnum


class WebhookSubscriptionDataStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    GRACE = "grace"

    def __str__(self) -> str:
        return str(self.value)
