from __future__ import annotations

import click
from sqlalchemy.orm import Session

from ..access.models import ROLES
from ..access.accounts import create_user, reset_password, set_user_active
from ..access.tokens import create_token, revoke_token
from .base import Context, main, pass_ctx


@main.group("user")
def user_group() -> None:
    """Logins of staff and merchants."""


@user_group.command("add")
@click.argument("email")
@click.option("--role", required=True, help=f"One of {', '.join(ROLES)}.")
@click.option("--municipality", help="Municipality code (required for admin, finance and caseworker).")
@click.option("--merchant", "merchant_id", type=int, help="Merchant id (required for the merchant role).")
@pass_ctx
def add(ctx: Context, email: str, role: str, municipality: str | None, merchant_id: int | None) -> None:
    """Add a user; prints a one-time password (changed at first login) as the last line."""
    def work(session: Session) -> str:
        user, password = create_user(session, email, role=role, municipality_code=municipality, merchant_id=merchant_id)
        return (f"added user {user.email} ({user.role}" + (f" of merchant {user.merchant_id})" if user.merchant_id else ")")
                + f"\none-time password (must be changed at first login):\n{password}")

    ctx.write(work)


@user_group.command("reset-password")
@click.argument("email")
@pass_ctx
def reset(ctx: Context, email: str) -> None:
    """Give a user a new one-time password (printed as the last line)."""
    ctx.write(lambda session: (
        f"new one-time password for {email.strip().lower()} (must be changed at first login):\n{reset_password(session, email)}"
    ))


@user_group.command("block")
@click.argument("email")
@pass_ctx
def block(ctx: Context, email: str) -> None:
    """Block a login at once: its sessions and API tokens stop working."""
    ctx.write(lambda session: f"blocked {set_user_active(session, email, False).email}")


@user_group.command("unblock")
@click.argument("email")
@pass_ctx
def unblock(ctx: Context, email: str) -> None:
    """Allow a blocked login again."""
    ctx.write(lambda session: f"unblocked {set_user_active(session, email, True).email}")


@main.group("token")
def token_group() -> None:
    """API tokens for integrations (Authorization: Bearer …)."""


@token_group.command("create")
@click.argument("email")
@click.option("--name", help="What the token is for, e.g. 'kassasysteem'.")
@pass_ctx
def token_create(ctx: Context, email: str, name: str | None) -> None:
    """Create an API token for EMAIL; prints it once, as the last line (only its hash is kept)."""
    ctx.write(lambda session: (
        f"API token for {email.strip().lower()} (shown once; store it safely):\n{create_token(session, email, name)}"
    ))


@token_group.command("revoke")
@click.argument("token_id", type=int)
@pass_ctx
def token_revoke(ctx: Context, token_id: int) -> None:
    """Revoke API token TOKEN_ID (see the audit log, token.create)."""
    def work(session: Session) -> str:
        revoke_token(session, token_id)
        return f"revoked API token {token_id}"

    ctx.write(work)
