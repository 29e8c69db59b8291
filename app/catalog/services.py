"""Reads of the catalog. Every price and limit the service uses comes through here."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from app.catalog.models import BillingPolicy, Plan, PolicyAction, Product
from app.domain_errors import NotFound, invalid_field
from app.extensions import db
from app.money import quantize


def get_product(code: str) -> Product | None:
    return db.session.get(Product, code)


def list_products(active_only: bool = True) -> list[Product]:
    stmt = select(Product).order_by(Product.type, Product.price, Product.code)
    if active_only:
        stmt = stmt.where(Product.active.is_(True))
    return list(db.session.scalars(stmt))


def list_plans() -> list[Plan]:
    return list(db.session.scalars(select(Plan).order_by(Plan.price, Plan.id)))


def default_plan() -> Plan:
    plan = db.session.scalar(select(Plan).where(Plan.is_default.is_(True)))
    if plan is None:
        raise RuntimeError("catalog has no default (free) plan; run the migrations")
    return plan


def get_plan(plan_id: str) -> Plan | None:
    return db.session.get(Plan, plan_id)


def require_plan(plan_id: str) -> Plan:
    """A plan another row refers to (a product, a subscription): missing means not found."""
    plan = db.session.get(Plan, plan_id)
    if plan is None:
        raise NotFound("PLAN_NOT_FOUND", f"No plan {plan_id}")
    return plan


def product_for_plan(plan_id: str) -> Product | None:
    return db.session.scalar(
        select(Product).where(Product.plan_id == plan_id, Product.active.is_(True))
    )


def get_policy() -> BillingPolicy:
    policy = db.session.get(BillingPolicy, 1)
    if policy is None:
        raise RuntimeError("billing policy row is missing; run the migrations")
    return policy


def action_allowed(subscription_status: str, action: str) -> bool:
    row = db.session.get(PolicyAction, (subscription_status, action))
    return True if row is None else row.allowed


def fits(limit: int | None, wanted: int | None) -> bool:
    """NULL means unlimited, both for limits and for requested sizes."""
    if limit is None:
        return True
    return wanted is not None and wanted <= limit


def cheapest_plan_fitting(
    participants: int | None = None, *, members: int | None = None, paid_events: bool = False
) -> Plan | None:
    """The cheapest purchasable plan whose limits fit; computed from plan data."""
    for plan in list_plans():
        if plan.is_default or product_for_plan(plan.id) is None:
            continue
        if not fits(plan.max_event_participants, participants):
            continue
        if members is not None and not fits(plan.max_members, members):
            continue
        if paid_events and not plan.paid_events:
            continue
        return plan
    return None


def set_price(code: str, amount: Decimal) -> Product:
    product = db.session.get(Product, code)
    if product is None:
        raise NotFound("PRODUCT_NOT_FOUND", f"No product {code}")
    if amount <= 0:
        # Products are sold through Kaspi, which takes no zero or negative amounts.
        raise invalid_field("amount", "Price must be greater than zero")
    product.price = quantize(amount)
    if product.plan_id:
        # A plan's price and its product's price are one figure; keep them equal.
        require_plan(product.plan_id).price = product.price
    return product
