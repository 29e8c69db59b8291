"""Clubs and membership.

Roles: the creator is the ``owner``. The owner adds admins and members;
an admin adds members only (an admin cannot make more admins: granting
management rights is the owner's call). Nobody is added as a second owner.
A club's plan caps its members (``max_members``, NULL = unlimited); the count
is taken with the club row locked so concurrent adds cannot overshoot.

Only a user the service knows (a row in ``users``: someone who has signed in at
least once) can be added: a mistyped id would otherwise become a member nobody is,
holding one of the plan's seats. An unknown id is 404 ``USER_NOT_FOUND`` and
changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select

from app.auth.models import User
from app.catalog import services as catalog
from app.catalog.paywall import paywall
from app.clubs import locks as club_locks
from app.clubs.models import Club, ClubMember
from app.clubs.subscriptions import EffectivePlan, effective_plan
from app.domain_errors import Conflict, Forbidden, NotFound
from app.extensions import db

MANAGER_ROLES = ("owner", "admin")
MAX_CLUB_MEMBERS_EXCEEDED = "MAX_CLUB_MEMBERS_EXCEEDED"


def club_not_found() -> NotFound:
    return NotFound("CLUB_NOT_FOUND", "Club not found")


def member_role(club_id: uuid.UUID, user_id: str) -> str | None:
    return db.session.scalar(
        select(ClubMember.role).where(ClubMember.club_id == club_id, ClubMember.user_id == user_id)
    )


def create_club(owner: User, name: str) -> Club:
    club = Club(id=uuid.uuid4(), name=name, owner_id=owner.id)
    db.session.add(club)
    db.session.flush()
    db.session.add(ClubMember(club_id=club.id, user_id=owner.id, role="owner"))
    db.session.flush()
    return club


@dataclass(frozen=True)
class ClubView:
    club: Club
    role: str
    plan: EffectivePlan
    member_count: int


def member_count(club_id: uuid.UUID) -> int:
    return db.session.scalars(
        select(func.count()).select_from(ClubMember).where(ClubMember.club_id == club_id)
    ).one()  # a count is always one row


def club_for_member(club_id: uuid.UUID, user_id: str) -> ClubView:
    """Members see the club; to anyone else it does not exist."""
    role = member_role(club_id, user_id)
    club = db.session.get(Club, club_id) if role is not None else None
    if club is None or role is None:
        raise club_not_found()
    return ClubView(club, role, effective_plan(club_id), member_count(club_id))


def add_member(actor: User, club_id: uuid.UUID, user_id: str, role: str) -> ClubMember:
    actor_role = member_role(club_id, actor.id)
    if actor_role is None:
        raise club_not_found()
    if actor_role not in MANAGER_ROLES:
        raise Forbidden("FORBIDDEN", "Only the club owner or an admin can add members")
    if role == "admin" and actor_role != "owner":
        raise Forbidden("FORBIDDEN", "Only the club owner can add admins")
    if db.session.get(User, user_id) is None:
        raise NotFound(
            "USER_NOT_FOUND",
            "No user with this id has signed in yet; they can be added once they have",
            user_id=user_id,
        )
    if club_locks.lock_club(club_id) is None:
        raise club_not_found()
    if member_role(club_id, user_id) is not None:
        raise Conflict("ALREADY_A_MEMBER", "The user is already a member of this club")
    plan = effective_plan(club_id).plan
    count = member_count(club_id)
    if not catalog.fits(plan.max_members, count + 1):
        # participants=1 fits every plan: only the member count chooses here.
        required = catalog.cheapest_plan_fitting(1, members=count + 1)
        raise paywall(
            MAX_CLUB_MEMBERS_EXCEEDED,
            f"The {plan.title} plan allows up to {plan.max_members} members.",
            current_plan_id=plan.id,
            required_plan=required,
            meta={
                "club_id": str(club_id),
                "max_members": plan.max_members,
                "member_count": count,
                "requested_members": count + 1,
            },
        )
    member = ClubMember(club_id=club_id, user_id=user_id, role=role)
    db.session.add(member)
    db.session.flush()
    return member
