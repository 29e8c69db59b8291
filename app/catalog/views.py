from __future__ import annotations

from flask import Blueprint

from app.api import endpoint
from app.catalog import services
from app.catalog.schemas import CatalogOut, PlanOut, PolicyOut, ProductOut
from app.money import money

bp = Blueprint("catalog", __name__, url_prefix="/api/billing")


@bp.get("/products")
@endpoint(
    summary="Public catalog: products, club plans and policy",
    tags=("catalog",),
    response=CatalogOut,
    auth=False,
)
def list_products() -> CatalogOut:
    products = services.list_products()
    plan_products = {p.plan_id: p.code for p in products if p.plan_id}
    policy = services.get_policy()
    return CatalogOut(
        products=[
            ProductOut(
                code=p.code,
                type=p.type,
                title=p.title,
                price=money(p.price, p.currency),
                constraints=p.constraints,
                plan_id=p.plan_id,
            )
            for p in products
        ],
        plans=[
            PlanOut(
                id=pl.id,
                title=pl.title,
                price=money(pl.price, pl.currency),
                period_days=pl.period_days,
                max_members=pl.max_members,
                max_event_participants=pl.max_event_participants,
                paid_events=pl.paid_events,
                csv_export=pl.csv_export,
                product_code=plan_products.get(pl.id),
            )
            for pl in services.list_plans()
        ],
        policy=PolicyOut(
            pending_ttl_minutes=policy.pending_ttl_minutes, grace_days=policy.grace_days
        ),
    )
