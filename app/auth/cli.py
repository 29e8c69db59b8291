from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from app.auth.roles import OPERATOR
from app.auth.tokens import issue_token

auth_cli = AppGroup("auth", help="Authentication helpers.")


@auth_cli.command("token")
@click.argument("user_id")
@click.option("--ttl", default=None, type=int, help="Lifetime in seconds.")
@click.option("--email", default=None)
@click.option("--name", default=None)
@click.option(
    "--operator", is_flag=True, help=f"Grant the {OPERATOR} role (the operator console, /ops)."
)
def token_command(
    user_id: str, ttl: int | None, email: str | None, name: str | None, operator: bool
) -> None:
    """Print a signed development token for USER_ID."""
    lifetime = ttl or current_app.config["AUTH_TOKEN_TTL_S"]
    click.echo(
        issue_token(
            current_app.config["AUTH_JWT_SECRET"],
            user_id,
            lifetime,
            email=email,
            name=name,
            roles=(OPERATOR,) if operator else (),
        )
    )
