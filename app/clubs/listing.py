"""Reads behind the club pages: the clubs I belong to, and a club's members."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from app.clubs.models import Club, ClubMember
from app.clubs.services import ClubView, club_for_member, club_not_found, member_role
from app.extensions import db

# Owners first, then admins, then members; each group in the order they joined.
_ROLE_ORDER = {"owner": 0, "admin": 1, "member": 2}


def my_clubs(user_id: str) -> list[ClubView]:
    club_ids = db.session.scalars(
        select(Club.id)
        .join(ClubMember, ClubMember.club_id == Club.id)
        .where(ClubMember.user_id == user_id)
        .order_by(Club.created_at.desc(), Club.id)
    ).all()
    return [club_for_member(club_id, user_id) for club_id in club_ids]


def members_of(club_id: uuid.UUID, user_id: str) -> list[ClubMember]:
    """Members see each other; to anyone else the club does not exist."""
    if member_role(club_id, user_id) is None:
        raise club_not_found()
    rows = db.session.scalars(select(ClubMember).where(ClubMember.club_id == club_id)).all()
    return sorted(rows, key=lambda m: (_ROLE_ORDER.get(m.role, 9), m.created_at, m.user_id))
