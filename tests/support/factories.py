"""Plain factories for test data.

Each commits, like the code under test would: in the database tier that commit
lands in the per-test outer transaction (rolled back at the end), so a request
that rolls back its own work cannot undo the test's setup.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from app.auth.models import User
from app.billing.core.models import Credit, Transaction
from app.clubs.models import Club, ClubMember
from app.events.models import Event
from app.extensions import db


def now() -> datetime:
    return datetime.now(UTC)


def make_user(user_id: str | None = None) -> User:
    user = db.session.get(User, user_id) if user_id else None
    if user is None:
        user = User(id=user_id or f"user-{uuid.uuid4().hex[:10]}")
        db.session.add(user)
        db.session.commit()
    return user


def make_transaction(
    user: User,
    *,
    product_code: str = "EVENT_UPGRADE_500",
    quantity: int = 1,
    amount: Decimal = Decimal("1000.00"),
    status: str = "pending",
    club_id: uuid.UUID | None = None,
    payment_id: str | None = None,
) -> Transaction:
    created = now()
    tx = Transaction(
        user_id=user.id,
        product_code=product_code,
        quantity=quantity,
        amount=amount,
        currency="KZT",
        status=status,
        provider="kaspi",
        provider_payment_id=payment_id or f"pay-{uuid.uuid4().hex[:12]}",
        expires_at=created + timedelta(minutes=60),
        next_poll_at=created,
        settled_at=created if status in ("completed", "refunded") else None,
        club_id=club_id,
    )
    db.session.add(tx)
    db.session.commit()
    return tx


def grant_credits(user: User, count: int = 1, code: str = "EVENT_UPGRADE_500") -> list[Credit]:
    """Credits as a settled purchase would grant them (with their source transaction)."""
    tx = make_transaction(
        user, quantity=count, amount=Decimal("1000.00") * count, status="completed"
    )
    credits = [
        Credit(
            user_id=user.id,
            credit_code=code,
            source_transaction_id=tx.id,
            sequence=i + 1,
            status="available",
        )
        for i in range(count)
    ]
    db.session.add_all(credits)
    db.session.commit()
    return credits


def make_club(owner: User, name: str = "Chess club") -> Club:
    club = Club(name=name, owner_id=owner.id)
    db.session.add(club)
    db.session.flush()
    db.session.add(ClubMember(club_id=club.id, user_id=owner.id, role="owner"))
    db.session.commit()
    return club


def make_event(
    owner: User,
    *,
    max_participants: int | None = 10,
    club: Club | None = None,
    is_paid: bool = False,
    title: str = "Meetup",
    published: bool = False,
) -> Event:
    event = Event(
        owner_id=owner.id,
        title=title,
        max_participants=max_participants,
        club_id=club.id if club else None,
        is_paid=is_paid,
        published_at=now() if published else None,
    )
    db.session.add(event)
    db.session.commit()
    return event


def make_subscription(
    club: Club, plan_id: str = "club_50", status: str = "active", *, days_left: int = 20
):
    """A club subscription row as settlement and the lifecycle would leave it."""
    from app.clubs.models import ClubSubscription

    end = now() + timedelta(days=days_left)
    sub = ClubSubscription(
        club_id=club.id,
        plan_id=plan_id,
        status=status,
        current_period_start=end - timedelta(days=30),
        current_period_end=end,
        grace_until=end + timedelta(days=7),
    )
    db.session.add(sub)
    db.session.commit()
    return sub


def add_member(club: Club, user: User, role: str = "member") -> ClubMember:
    member = ClubMember(club_id=club.id, user_id=user.id, role=role)
    db.session.add(member)
    db.session.commit()
    return member


# Catalog reads for tests: expected limits and prices come from the database, like the code's.


def catalog_free_limit() -> int | None:
    from sqlalchemy import select

    from app.catalog.models import Plan

    return db.session.scalar(select(Plan.max_event_participants).where(Plan.is_default))


def catalog_credit_product():
    """The personal upgrade product (type credit, scope personal), found by what it is."""
    from sqlalchemy import select

    from app.catalog.models import Product

    return db.session.scalar(
        select(Product).where(
            Product.type == "credit", Product.constraints["scope"].astext == "personal"
        )
    )


def catalog_plan_option(plan_id: str) -> dict:
    """The CLUB_ACCESS option the API should offer for ``plan_id``."""
    from sqlalchemy import select

    from app.catalog.models import Product

    product = db.session.scalar(select(Product).where(Product.plan_id == plan_id))
    return {
        "type": "CLUB_ACCESS",
        "recommended_plan_id": plan_id,
        "price": {"amount": str(product.price), "currency": product.currency},
    }


def catalog_cheapest_plan(participants: int | None, *, paid: bool = False, members: int = 1):
    """Independent of the service's helper: the cheapest on-sale plan that fits."""
    from sqlalchemy import select

    from app.catalog.models import Plan, Product

    rows = db.session.execute(
        select(Plan)
        .join(Product, Product.plan_id == Plan.id)
        .where(Product.active.is_(True), Plan.is_default.is_(False))
        .order_by(Plan.price, Plan.id)
    ).scalars()
    for plan in rows:
        limit = plan.max_event_participants
        if limit is not None and (participants is None or participants > limit):
            continue
        if plan.max_members is not None and members > plan.max_members:
            continue
        if paid and not plan.paid_events:
            continue
        return plan.id
    return None
