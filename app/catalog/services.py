"""Reads of the catalog. Every price and limit the service uses comes through here.

Products, plans and the policy row are cached per process (purchase intents and every
settle read them). The cache is keyed by ``catalog_version``, a one-row table
that triggers on every catalog table set to a fresh sequence number in the same
transaction as the change (set-price, a migration, a hand-written UPDATE alike;
a rolled-back change's number is never reused, so a snapshot read inside it can
never look current afterwards). Each database transaction
that reads the cache first compares the version, one primary-key read, and
reloads on a mismatch; so a reader never uses values older than the catalog as
its own transaction sees it. Cached values are frozen copies, not ORM rows:
nothing can write through them (set-price loads the rows themselves).

Why a settle cannot grant with a stale catalog: the price a buyer pays is stored
on the transaction at intent time and is never re-read. What a settle reads is
the product's kind, code and plan id, which no command edits, and the plan's
period and the policy's grace days from ORM rows in the settle's own step. So
a settle takes the product from whatever snapshot the process holds
(``sold_product``) and skips the version read.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.catalog.models import BillingPolicy, CatalogVersion, Plan, PolicyAction, Product
from app.domain_errors import NotFound, invalid_field
from app.extensions import db
from app.money import quantize


class Frozen:
    """A read-only copy of an ORM row's columns, with the row's attribute names.

    Built from the mapped columns, so a column a migration adds is carried too.
    """

    __slots__ = ("_values",)

    def __init__(self, row: Any) -> None:
        values = {c.key: getattr(row, c.key) for c in row.__mapper__.column_attrs}
        for key, value in values.items():
            if isinstance(value, dict):  # JSON columns: a copy nobody else holds
                values[key] = dict(value)
        object.__setattr__(self, "_values", values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("catalog cache entries are read-only; set-price edits the rows")

    def __repr__(self) -> str:
        return f"Frozen({self._values!r})"


ProductView = Frozen
PolicyView = Frozen
PlanView = Frozen
# What readers get: a cached copy, or the row itself where a caller loaded it.
PlanLike = Plan | PlanView
ProductLike = Product | ProductView


@dataclass(frozen=True)
class _Snapshot:
    version: int
    products: dict[str, ProductView]
    policy: PolicyView | None
    plans: tuple[PlanView, ...]  # cheapest first (price, then id)


# The catalog is sold through Kaspi: the paywall's options and every transaction name it.
PAYMENT_PROVIDER = "kaspi"
_CHECKED = "catalog_checked_in"  # session.info: the transaction that compared versions
_lock = threading.Lock()
_cache: dict[str, _Snapshot] = {}  # "current": the process's snapshot


def _load(version: int) -> _Snapshot:
    products = {p.code: Frozen(p) for p in db.session.scalars(select(Product))}
    row = db.session.get(BillingPolicy, 1)
    plans = tuple(Frozen(p) for p in db.session.scalars(select(Plan).order_by(Plan.price, Plan.id)))
    return _Snapshot(version, products, None if row is None else Frozen(row), plans)


def _current() -> _Snapshot:
    """The cached catalog, checked against ``catalog_version`` once per DB transaction."""
    session = db.session()
    snapshot = _cache.get("current")
    checked = session.info.get(_CHECKED)
    transaction = session.get_transaction()
    if (
        snapshot is not None
        and transaction is not None
        and checked is not None
        and checked[0]() is transaction
        and checked[1] == snapshot.version
    ):
        return snapshot
    version = db.session.scalar(select(CatalogVersion.version).where(CatalogVersion.id == 1))
    if version is None:
        raise RuntimeError("catalog_version row is missing; run the migrations")
    if snapshot is None or snapshot.version != version:
        snapshot = _load(version)
        with _lock:
            _cache["current"] = snapshot
    session.info[_CHECKED] = (weakref.ref(session.get_transaction()), snapshot.version)
    return snapshot


def get_product(code: str) -> ProductView | None:
    return _current().products.get(code)


def sold_product(code: str) -> ProductView | None:
    """The product a transaction sold, for granting it: no version check.

    A settle reads only the product's kind, code and plan id, which no command
    edits (see the module's notes), so any snapshot that holds the product is
    current enough; only a product the snapshot lacks (added since it was
    loaded) costs the checked read. Settling is the hot path: this saves one
    round trip per settle.
    """
    snapshot = _cache.get("current")
    if snapshot is not None and code in snapshot.products:
        return snapshot.products[code]
    return get_product(code)


def list_products(active_only: bool = True) -> list[Product]:
    stmt = select(Product).order_by(Product.type, Product.price, Product.code)
    if active_only:
        stmt = stmt.where(Product.active.is_(True))
    return list(db.session.scalars(stmt))


def list_plans() -> list[PlanView]:
    """Every plan, cheapest first (from the cached catalog)."""
    return list(_current().plans)


def default_plan() -> PlanView:
    plan = next((p for p in _current().plans if p.is_default), None)
    if plan is None:
        raise RuntimeError("catalog has no default (free) plan; run the migrations")
    return plan


def require_plan(plan_id: str) -> Plan:
    """A plan another row refers to (a product, a subscription): missing means not found."""
    plan = db.session.get(Plan, plan_id)
    if plan is None:
        raise NotFound("PLAN_NOT_FOUND", f"No plan {plan_id}")
    return plan


def product_for_plan(plan_id: str) -> ProductView | None:
    """The product on sale that buys ``plan_id`` (from the cached catalog)."""
    products = _current().products.values()
    return next((p for p in products if p.plan_id == plan_id and p.active), None)


def personal_credit_product() -> ProductView | None:
    """The personal upgrade product; one on sale wins over one withdrawn."""
    candidates = [
        p
        for p in _current().products.values()
        if p.type == "credit" and (p.constraints or {}).get("scope") == "personal"
    ]
    candidates.sort(key=lambda p: (not p.active, p.code))
    return candidates[0] if candidates else None


def get_policy() -> PolicyView:
    policy = _current().policy
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
) -> PlanView | None:
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
