"""Operator commands: `flask --app wsgi billing ...`.

The services each command needs are imported inside it: `flask --help` and every
other command then start without loading them.
"""

from __future__ import annotations

import getpass
import json
import os
import uuid
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app.billing.core.models import Transaction, TransactionEvent
from app.billing.core.status import Source, TxStatus
from app.db import edge
from app.domain_errors import DomainError
from app.extensions import db
from app.money import NotCents, Wrong, exact_cents

billing_cli = AppGroup("billing", help="Operator commands for billing.")

# Kaspi's answer to a refund of a payment it does not hold as Processed.
KASPI_RETURN_NOT_ALLOWED = -1701
SETTLED_BY_HAND = {Source.CLI.value, Source.DEV.value}


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a transaction id") from exc


@billing_cli.command("settle")
@click.argument("transaction_id")
@click.option(
    "--outcome",
    type=click.Choice(["paid", "failed"]),
    default=None,
    help="Force this outcome instead of asking Kaspi (development; --force in production).",
)
@click.option("--force", is_flag=True, help="Allow --outcome in production.")
def settle_command(transaction_id: str, outcome: str | None, force: bool) -> None:
    """Settle a pending transaction now: by Kaspi's answer, or by hand with --outcome.

    Both go through the status machine. Without --outcome the command asks Kaspi,
    exactly as the worker would, so it is safe in production.
    """
    from app.billing.kaspi.client import ProviderError
    from app.billing.settle import manual, reconcile

    tx_id = _uuid(transaction_id)
    if outcome is None:
        try:
            with edge(multi_step=True):
                happened = reconcile.reconcile(tx_id, source=Source.CLI)
        except ProviderError as exc:
            raise click.ClickException(f"Kaspi did not answer: {exc}") from exc
        with edge():
            status = db.session.scalar(select(Transaction.status).where(Transaction.id == tx_id))
        if status is None:
            raise click.ClickException("no such transaction")
        click.echo(f"{transaction_id} {status} ({happened})")
        return
    if current_app.config["ENV_NAME"] == "production" and not force:
        raise click.ClickException(
            "--outcome overrides Kaspi's word; in production add --force if you mean it"
        )
    try:
        with edge():
            status = manual.settle_now(tx_id, outcome, source=Source.CLI).status
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"{transaction_id} {status}")


@billing_cli.command("list")
@click.option(
    "--status",
    type=click.Choice([status.value for status in TxStatus]),
    default=None,
    help="Only transactions in this status.",
)
@click.option("--user", "user_id", default=None, help="Only this user's transactions.")
@click.option("--limit", default=50, show_default=True)
def list_command(status: str | None, user_id: str | None, limit: int) -> None:
    """List recent transactions."""
    stmt = select(Transaction).order_by(Transaction.created_at.desc()).limit(limit)
    if status:
        stmt = stmt.where(Transaction.status == status)
    if user_id:
        stmt = stmt.where(Transaction.user_id == user_id)
    for tx in db.session.scalars(stmt):
        click.echo(
            f"{tx.id}  {tx.status:<12} {tx.product_code:<18} x{tx.quantity:<3} "
            f"{tx.amount:>10} {tx.currency}  {tx.user_id}  {_iso(tx.created_at)}"
        )


@billing_cli.command("show")
@click.argument("transaction_id")
def show_command(transaction_id: str) -> None:
    """Show one transaction with its audit events, as JSON."""
    tx = db.session.get(Transaction, _uuid(transaction_id))
    if tx is None:
        raise click.ClickException("no such transaction")
    events = db.session.scalars(
        select(TransactionEvent)
        .where(TransactionEvent.transaction_id == tx.id)
        .order_by(TransactionEvent.id)
    )
    out = {c.name: getattr(tx, c.name) for c in Transaction.__table__.columns}
    out["events"] = [
        {
            "from": e.from_status,
            "to": e.to_status,
            "source": e.source,
            "provider_status": e.provider_status,
            "amount": e.amount,
            "provider_amount": e.provider_amount,
            "note": e.note,
            "at": e.created_at,
        }
        for e in events
    ]
    click.echo(json.dumps(out, indent=2, default=_json_value))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _json_value(value: object) -> object:
    """ISO-8601 timestamps (`2026-11-25T17:55:31.123456+00:00`), exact amounts as strings."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


# ignore_unknown_options: `set-price X -5` is an amount to refuse clearly, not an option.
@billing_cli.command("set-price", context_settings={"ignore_unknown_options": True})
@click.argument("product_code")
@click.argument("amount")
def set_price_command(product_code: str, amount: str) -> None:
    """Change a product's price (a plan product changes its plan's price too)."""
    from app.catalog.services import set_price

    try:
        value = Decimal(amount)
    except InvalidOperation as exc:
        raise click.BadParameter(f"{amount!r} is not an amount", param_hint="AMOUNT") from exc
    try:
        value = exact_cents(value)
    except NotCents as exc:
        if exc.wrong == Wrong.NOT_POSITIVE:
            raise click.BadParameter(
                f"{amount} must be greater than zero (a free product is not sold through Kaspi)",
                param_hint="AMOUNT",
            ) from exc
        raise click.BadParameter(
            "amount must have at most two decimals", param_hint="AMOUNT"
        ) from exc
    try:
        with edge():
            product = set_price(product_code, value)
            click.echo(f"{product.code} {product.price} {product.currency}")
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container's numeric user)
        return str(os.getuid())


# Who runs a command, for the operators' audit (operator_actions): the console
# records the token's subject, the command line the login name unless told.
BY_OPTION = click.option(
    "--by",
    "operator_id",
    default=None,
    metavar="NAME",
    help="Who is acting, for the audit (default: cli:<login name>).",
)


@billing_cli.command("refund")
@click.argument("transaction_id")
@click.option(
    "--unused",
    is_flag=True,
    help="Refund only the share of the credits still unused; consumed ones stay.",
)
@click.option("--note", required=True, help="Why (kept in the audit).")
@BY_OPTION
def refund_command(transaction_id: str, unused: bool, note: str, operator_id: str | None) -> None:
    """Refund a completed transaction and revoke its unused credits.

    With --unused: a partial refund of the unused credits' share; the transaction
    stays completed and its refunded amount grows (fully refunded → refunded).
    The same service as the console's refund, audited the same way.
    """
    from app.billing.kaspi.client import ProviderRejected
    from app.billing.operator import actions

    tx_id = _uuid(transaction_id)
    try:
        with edge(multi_step=True):
            acted = actions.refund(
                tx_id,
                unused=unused,
                amount=None,
                reason=note,
                operator_id=operator_id or f"cli:{_os_user()}",
            )
    except DomainError as exc:
        cause = exc.__cause__
        if isinstance(cause, ProviderRejected) and cause.status_code == KASPI_RETURN_NOT_ALLOWED:
            raise click.ClickException(_not_refundable_at_kaspi(tx_id)) from exc
        raise click.ClickException(exc.message) from exc
    part = acted.refund
    if unused and part is not None:
        click.echo(
            f"{part.transaction_id} {part.status} refunded {part.amount} "
            f"({part.credits_revoked} unused credit(s) revoked; "
            f"{part.refunded_total} refunded in total)"
        )
        return
    click.echo(f"{acted.transaction_id} {acted.status}")


def _not_refundable_at_kaspi(tx_id: uuid.UUID) -> str:
    """Why Kaspi refused (-1701), in the operator's terms."""
    with edge():
        completed_by = db.session.scalar(
            select(TransactionEvent.source)
            .where(
                TransactionEvent.transaction_id == tx_id,
                TransactionEvent.to_status == TxStatus.COMPLETED.value,
            )
            .limit(1)
        )
    if completed_by in SETTLED_BY_HAND:
        return (
            f"cannot refund: this transaction was settled by hand (source {completed_by!r}), "
            "so Kaspi holds no payment to return (Kaspi -1701). Nothing was refunded and its "
            "credits are kept."
        )
    return (
        "cannot refund: Kaspi holds no processed payment for this transaction (Kaspi -1701). "
        "Nothing was refunded and its credits are kept."
    )


@billing_cli.command("review")
@click.option("--limit", default=200, show_default=True)
def review_command(limit: int) -> None:
    """List transactions in needs_review, oldest first, with the reason, and webhook
    deliveries that exhausted their retries."""
    from app.billing.operator import review
    from app.webhooks import review as webhook_review

    with edge():
        items = review.queue(limit)
        dead = webhook_review.dead(limit)
        if not items and not dead:
            click.echo("nothing to review")
            return
        for delivery in dead:
            click.echo(
                f"webhook {delivery.event_id} ({delivery.event_type}) to {delivery.endpoint_id}: "
                f"dead after {delivery.attempts} attempts since {delivery.since}, last "
                f"{delivery.last_status_code or '-'} {delivery.last_error or ''}\n"
                f"    replay: flask --app wsgi billing webhooks replay {delivery.endpoint_id} "
                f"--event {delivery.event_id}"
            )
        for item in items:
            provider_amount = "-" if item.provider_amount is None else item.provider_amount
            click.echo(
                f"{item.transaction_id}  {item.user_id}  {item.product_code}  "
                f"ours {item.amount}  provider {provider_amount}  "
                f"{item.provider_status or '-'}  since {_iso(item.since)}\n"
                f"    reason: {item.reason or '-'}"
            )


@billing_cli.command("resolve")
@click.argument("transaction_id")
@click.option("--grant", "action", flag_value="grant", help="Accept the payment: complete, grant.")
@click.option("--refund", "action", flag_value="refund", help="Return what Kaspi received.")
@click.option("--fail", "action", flag_value="fail", help="Close it: no payment was received.")
@click.option("--note", required=True, help="Why (kept in the audit log).")
@BY_OPTION
def resolve_command(
    transaction_id: str, action: str | None, note: str, operator_id: str | None
) -> None:
    """Resolve a needs_review transaction through the status machine (the console's
    resolve: the same service, audited the same way)."""
    if action is None:
        raise click.UsageError("choose one of --grant, --refund, --fail")
    from app.billing.operator import actions

    try:
        with edge(multi_step=True):
            acted = actions.resolve(
                _uuid(transaction_id),
                action,
                reason=note,
                operator_id=operator_id or f"cli:{_os_user()}",
            )
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"{acted.transaction_id} {acted.status}")
