from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from app.money import Money


class ProductOut(BaseModel):
    code: str
    type: str
    title: str
    price: Money
    constraints: dict[str, Any]
    plan_id: str | None


class PlanOut(BaseModel):
    id: str
    title: str
    price: Money
    period_days: int
    max_members: int | None
    max_event_participants: int | None
    paid_events: bool
    csv_export: bool
    product_code: str | None


class PolicyOut(BaseModel):
    pending_ttl_minutes: int
    grace_days: int


class CatalogOut(BaseModel):
    products: list[ProductOut]
    plans: list[PlanOut]
    policy: PolicyOut
