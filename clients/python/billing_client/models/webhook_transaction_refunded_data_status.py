from enum import StrEnum


class WebhookTransactionRefundedDataStatus(StrEnum):
    CANCELED = "canceled"
    COMPLETED = "completed"
    EXPIRED = "expired"
    FAILED = "failed"
    NEEDS_REVIEW = "needs_review"
    PENDING = "pending"
    REFUNDED = "refunded"

    def __str__(self) -> str:
        return str(self.value)
