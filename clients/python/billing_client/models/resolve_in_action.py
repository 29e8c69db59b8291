from enum import StrEnum


class ResolveInAction(StrEnum):
    FAIL = "fail"
    GRANT = "grant"
    REFUND = "refund"

    def __str__(self) -> str:
        return str(self.value)
