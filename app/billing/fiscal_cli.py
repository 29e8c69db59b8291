"""`flask --app wsgi billing receipts ...`: the fiscal receipts' operator commands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

import click
from flask.cli import AppGroup

from app.db import edge
from app.extensions import db

receipts_cli = AppGroup("receipts", help="Fiscal receipts: reconcile, seller and positions.")


@receipts_cli.command("check")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="First day (UTC) to check; default 30 days ago.",
)
def check_command(since: datetime | None) -> None:
    """Money received minus refunded equals sales minus returns fiscalized, per day;
    every settled transaction has exactly one sale receipt. Exit 1 on any difference."""
    from app.billing.fiscal.check import check

    start = since.replace(tzinfo=UTC) if since else datetime.now(UTC) - timedelta(days=30)
    with edge(read_only=True):
        report = check(start)
    for day in report.days:
        click.echo(day.line())
    for missing in report.missing:
        click.echo(missing.line())
    if not report.clean:
        click.echo(
            f"{len(report.days)} day(s) and {len(report.missing)} transaction(s) differ",
            err=True,
        )
        raise SystemExit(1)
    click.echo(f"receipts match the money since {start.date()}")


@receipts_cli.command("seller")
@click.option("--bin", "bin_", required=True, help="The seller's BIN (12 digits).")
@click.option("--name", required=True, help="The seller's name as on the receipt.")
@click.option("--vat-rate", default=None, help="VAT rate in percent (16); omit: not a VAT payer.")
def seller_command(bin_: str, name: str, vat_rate: str | None) -> None:
    """Set the seller printed on every receipt."""
    from app.billing.fiscal.models import FiscalSeller

    if not (len(bin_) == 12 and bin_.isdigit()):
        raise click.BadParameter("a BIN is 12 digits", param_hint="--bin")
    rate = _rate(vat_rate)
    with edge():
        seller = db.session.get(FiscalSeller, 1) or FiscalSeller(id=1)
        seller.bin, seller.name = bin_, name.strip()
        seller.vat_payer, seller.vat_rate = rate is not None, rate or Decimal(0)
        seller.updated_at = datetime.now(UTC)
        db.session.add(seller)
    click.echo(f"seller {bin_} {name.strip()}, VAT {f'{rate}%' if rate is not None else 'none'}")


@receipts_cli.command("position")
@click.argument("product_code")
@click.option("--name", required=True, help="The position's name on the receipt.")
@click.option("--code", required=True, help="Its national catalogue code.")
@click.option("--unit", default=5114, show_default=True, help="Unit code (5114: a service).")
def position_command(product_code: str, name: str, code: str, unit: int) -> None:
    """Set how a product appears on receipts."""
    from app.billing.fiscal.models import FiscalPosition
    from app.catalog.models import Product

    with edge():
        if db.session.get(Product, product_code) is None:
            raise click.ClickException(f"no product {product_code}")
        position = db.session.get(FiscalPosition, product_code) or FiscalPosition(
            product_code=product_code
        )
        position.position_name, position.catalogue_code, position.unit_code = name, code, unit
        db.session.add(position)
    click.echo(f"{product_code}: {name} ({code}, unit {unit})")


def _rate(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        rate = Decimal(text)
    except InvalidOperation:
        raise click.BadParameter("a number of percent", param_hint="--vat-rate") from None
    if not rate.is_finite() or not 0 <= rate < 100:
        raise click.BadParameter("between 0 and 100", param_hint="--vat-rate")
    return rate
