"""The phone an owner stores (with consent) for Kaspi renewal invoices."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from app.clubs.services import club_not_found, member_role
from app.domain_errors import Forbidden, invalid_field
from app.extensions import db
from app.renewals.models import RenewalPhone

_SEPARATORS = re.compile(r"[\s\-()]")


def kaspi_digits(raw: str) -> str:
    """+7 701 234 56 78 (or 8 701 ...) as Kaspi takes it: 77012345678."""
    digits = _SEPARATORS.sub("", raw)
    digits = digits.removeprefix("+")
    if len(digits) == 11 and digits.startswith("8"):
        digits = "7" + digits[1:]
    if not (digits.isascii() and digits.isdigit() and len(digits) == 11 and digits[0] == "7"):
        raise invalid_field("phone", "a Kazakhstan mobile number: +7 and ten digits")
    return digits


def masked(digits: str) -> str:
    return "+7" + "\u2022" * 6 + digits[-4:]


def _owner_only(user_id: str, club_id: uuid.UUID) -> None:
    role = member_role(club_id, user_id)
    if role is None:
        raise club_not_found()
    if role != "owner":
        raise Forbidden("FORBIDDEN", "Only the club owner can set the phone for invoices")


def store(user_id: str, club_id: uuid.UUID, raw: str, now: datetime) -> RenewalPhone:
    digits = kaspi_digits(raw)  # bad input changes nothing: checked before any read
    _owner_only(user_id, club_id)
    row = db.session.get(RenewalPhone, club_id)
    if row is None:
        row = RenewalPhone(club_id=club_id)
        db.session.add(row)
    row.phone, row.consented_by, row.consented_at = digits, user_id, now
    db.session.flush()
    return row


def forget(user_id: str, club_id: uuid.UUID) -> None:
    """Consent withdrawn: the number is deleted, no invoice is sent any more."""
    _owner_only(user_id, club_id)
    row = db.session.get(RenewalPhone, club_id)
    if row is not None:
        db.session.delete(row)
        db.session.flush()
