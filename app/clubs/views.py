from __future__ import annotations

import uuid
from datetime import UTC, datetime

from flask import Blueprint

from app.api import endpoint
from app.auth.services import current_user
from app.clubs import listing, services
from app.clubs.models import ClubMember
from app.clubs.schemas import (
    ClubCreateIn,
    ClubListOut,
    ClubOut,
    MemberAddIn,
    MemberListOut,
    MemberOut,
    SubscriptionOut,
)
from app.clubs.subscriptions import plan_id_at
from app.errors import uuid_or_404
from app.renewals import summary

bp = Blueprint("clubs", __name__, url_prefix="/api/clubs")


def _club_id(raw: str) -> uuid.UUID:
    err = services.club_not_found()
    return uuid_or_404(raw, err.code, err.message)


def club_out(view: services.ClubView) -> ClubOut:
    sub = view.plan.subscription
    now = datetime.now(UTC)
    return ClubOut(
        id=view.club.id,
        name=view.club.name,
        role=view.role,
        plan_id=view.plan.plan.id,
        subscription=(
            SubscriptionOut(
                status=view.plan.status,
                plan_id=plan_id_at(sub, now),
                current_period_start=sub.current_period_start,
                current_period_end=sub.current_period_end,
                grace_until=sub.grace_until,
                renewal=summary.renewal_of(sub),
                scheduled_change=summary.scheduled_change_of(sub, now),
            )
            if sub is not None and view.plan.status is not None
            else None
        ),
        member_count=view.member_count,
        created_at=view.club.created_at,
    )


@bp.post("")
@endpoint(
    summary="Create a club; you become its owner",
    tags=("clubs",),
    body=ClubCreateIn,
    response=ClubOut,
    status=201,
)
def create_club(body: ClubCreateIn) -> ClubOut:
    user = current_user()
    club = services.create_club(user, body.name)
    return club_out(services.club_for_member(club.id, user.id))


@bp.get("")
@endpoint(
    summary="The clubs you are a member of, newest first, with your role and their plan",
    tags=("clubs",),
    response=ClubListOut,
)
def list_clubs() -> ClubListOut:
    return ClubListOut(clubs=[club_out(view) for view in listing.my_clubs(current_user().id)])


@bp.get("/<club_id>/members")
@endpoint(
    summary="A club's members and their roles (members only)",
    tags=("clubs",),
    response=MemberListOut,
    errors={404: "CLUB_NOT_FOUND: no such club, or you are not a member"},
)
def list_members(club_id: str) -> MemberListOut:
    rows = listing.members_of(_club_id(club_id), current_user().id)
    return MemberListOut(members=[member_out(m) for m in rows])


@bp.get("/<club_id>")
@endpoint(
    summary="A club you are a member of: your role, its plan and subscription",
    tags=("clubs",),
    response=ClubOut,
    errors={404: "CLUB_NOT_FOUND: no such club, or you are not a member"},
)
def get_club(club_id: str) -> ClubOut:
    return club_out(services.club_for_member(_club_id(club_id), current_user().id))


@bp.post("/<club_id>/members")
@endpoint(
    summary="Add a member (owner: admins and members; admin: members)",
    tags=("clubs",),
    body=MemberAddIn,
    response=MemberOut,
    status=201,
    errors={
        402: "PAYWALL (MAX_CLUB_MEMBERS_EXCEEDED): the plan's member limit is reached",
        403: "FORBIDDEN: members cannot add; admins cannot add admins",
        404: "CLUB_NOT_FOUND: no such club, or you are not a member; USER_NOT_FOUND: no user "
        "with this id has signed in yet (only known users are added)",
        409: "ALREADY_A_MEMBER",
    },
)
def add_member(club_id: str, body: MemberAddIn) -> MemberOut:
    member = services.add_member(current_user(), _club_id(club_id), body.user_id, body.role)
    return member_out(member)


def member_out(member: ClubMember) -> MemberOut:
    return MemberOut(
        club_id=member.club_id,
        user_id=member.user_id,
        role=member.role,
        created_at=member.created_at,
    )
