"""What a receipt says, from the catalog's data: the seller's VAT and each
product's position name, catalogue code and unit (``fiscal_seller``,
``fiscal_positions``). Nothing about a receipt's content is written in code."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from app.billing.fiscal.models import FiscalPosition, FiscalSeller
from app.billing.fiscal.register import CheckRequest, Operation, Position
from app.extensions import db

CENT = Decimal("0.01")


class ContentMissing(Exception):
    """The catalog lacks what a receipt needs (the seller, a product's position)."""


@dataclass(frozen=True)
class Owed:
    """A receipt owed, as the register needs it (copied out of its step)."""

    kind: str  # sale | return
    amount: Decimal
    product_code: str
    quantity: int  # of the sale
    sale_amount: Decimal  # the whole sale's amount: the unit price is part of it
    external_number: str
    customer_email: str | None


def vat_inside(total: Decimal, rate: Decimal) -> Decimal:
    """The VAT contained in a price that includes it: total * rate / (100 + rate)."""
    if rate <= 0:
        return Decimal("0.00")
    return (total * rate / (Decimal(100) + rate)).quantize(CENT, rounding=ROUND_HALF_UP)


def check_request(owed: Owed) -> CheckRequest:
    """The register's request for ``owed``, from the seller and position rows."""
    seller = db.session.get(FiscalSeller, 1)
    if seller is None:
        raise ContentMissing("no fiscal seller (fiscal_seller) is set")
    position = db.session.get(FiscalPosition, owed.product_code)
    if position is None:
        raise ContentMissing(f"no fiscal position for product {owed.product_code}")
    rate = seller.vat_rate if seller.vat_payer else Decimal(0)
    count, price = _count_and_price(owed)
    return CheckRequest(
        operation=Operation.SALE if owed.kind == "sale" else Operation.RETURN,
        external_number=owed.external_number,
        positions=(
            Position(
                name=position.position_name,
                code=position.catalogue_code,
                count=count,
                price=price,
                tax_percent=rate,
                tax=vat_inside(owed.amount, rate),
                unit_code=position.unit_code,
            ),
        ),
        total=owed.amount,
        customer_email=owed.customer_email,
    )


def _count_and_price(owed: Owed) -> tuple[Decimal, Decimal]:
    """The sale's quantity at its unit price; a return of whole units the same way;
    a return that is not whole units (a prorated share) as one unit of its amount."""
    quantity = Decimal(max(owed.quantity, 1))
    unit = owed.sale_amount / quantity
    if unit == unit.quantize(CENT) and unit > 0:
        units = owed.amount / unit
        if units == units.to_integral_value() and units >= 1:
            return units.quantize(Decimal(1)), unit.quantize(CENT)
    return Decimal(1), owed.amount
