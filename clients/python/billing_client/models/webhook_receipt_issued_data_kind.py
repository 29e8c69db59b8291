from enum import StrEnum


class WebhookReceiptIssuedDataKind(StrEnum):
    RETURN = "return"
    SALE = "sale"

    def __str__(self) -> str:
        return str(self.value)
