"""``skyground users``: people and machine clients, their roles, areas and API keys.

Changes are written to the audit log as the command line (``cli:<os user>``). Passwords are
read from a prompt (hidden) or, for scripts, from standard input with ``--password-stdin``;
never from an argument, which would end up in the shell history.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from models.auth import keys as keys_store
from models.auth import users as store
from models.auth.secrets import new_password
from models.auth.users import UserRecord
from models.tables import ROLES
from service.cli._common import Output, cli_actor, handle_errors, help_text, output
from service.cli.plots import import_engine

__all__ = ["app"]

app = typer.Typer(help=help_text("cli_users"), no_args_is_help=True)

T = TypeVar("T")

NameArg = Annotated[str, typer.Argument(help=help_text("cli_users_opt_name"))]
RoleHelp = help_text("cli_users_opt_role") + " (" + ", ".join(ROLES) + ")"


@contextmanager
def _session(out: Output) -> Iterator[Session]:
    with import_engine(out) as engine, Session(engine) as session, session.begin():
        yield session


def _run(out: Output, work: Callable[[Session], T]) -> T:
    with handle_errors(out), _session(out) as session:
        return work(session)


def _read_password(out: Output, from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = typer.prompt(out.t("users_prompt_password"), hide_input=True)
    second = typer.prompt(out.t("users_prompt_password_again"), hide_input=True)
    if first != second:
        out.errors.print(out.t("users_password_mismatch"))
        raise typer.Exit(code=1)
    return str(first)


def _show_user(out: Output, user: UserRecord, key: str) -> None:
    out.result(
        {"user": user.as_dict()},
        lambda: out.say(
            key,
            username=user.username,
            role=user.role,
            scope=", ".join(user.scope) or out.t("users_scope_all"),
        ),
    )


@app.command("add", help=help_text("cli_users_add"))
def add(
    ctx: typer.Context,
    username: NameArg,
    role: Annotated[str, typer.Option("--role", help=RoleHelp)],
    scope: Annotated[
        list[str] | None, typer.Option("--scope", help=help_text("cli_users_opt_scope"))
    ] = None,
    display_name: Annotated[
        str | None, typer.Option("--display-name", help=help_text("cli_users_opt_display"))
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help=help_text("cli_users_opt_password_stdin"))
    ] = False,
    generate_password: Annotated[
        bool, typer.Option("--generate-password", help=help_text("cli_users_opt_generate"))
    ] = False,
    no_password: Annotated[
        bool, typer.Option("--no-password", help=help_text("cli_users_opt_no_password"))
    ] = False,
) -> None:
    """Add a user with a role (and optionally an area)."""
    out = output(ctx)
    password: str | None = None
    if generate_password:
        password = new_password()
    elif not no_password:
        password = _read_password(out, password_stdin)
    minimum = out.settings.auth.min_password_length
    actor = cli_actor()

    def work(session: Session) -> UserRecord:
        user = store.add_user(
            session, username=username, role=role, password=password, actor=actor,
            min_password_length=minimum, display_name=display_name,
        )  # fmt: skip
        if scope:
            user = store.set_scope(session, username, scope, actor=actor)
        return user

    user = _run(out, work)
    if generate_password and password is not None:
        out.result(
            {"user": user.as_dict(), "password": password},
            lambda: out.say("users_added_password", username=user.username, password=password),
        )
        return
    _show_user(out, user, "users_added")


@app.command("list", help=help_text("cli_users_list"))
def list_command(ctx: typer.Context) -> None:
    """List users with role, area, keys and state."""
    out = output(ctx)
    users = _run(out, store.list_users)

    def render() -> None:
        table = Table(*(out.t(f"users_col_{c}") for c in ("name", "role", "scope", "keys", "on")))
        for u in users:
            scope = ", ".join(u.scope) or out.t("users_scope_all")
            table.add_row(u.username, u.role, scope, str(u.keys), "✓" if u.active else "✗")
        out.console.print(table)

    out.result({"users": [u.as_dict() | {"keys": u.keys} for u in users]}, render)


@app.command("set-role", help=help_text("cli_users_set_role"))
def set_role(
    ctx: typer.Context,
    username: NameArg,
    role: Annotated[str, typer.Argument(help=RoleHelp)],
) -> None:
    """Give a user another role."""
    out = output(ctx)
    actor = cli_actor()
    user = _run(out, lambda s: store.set_role(s, username, role, actor=actor))
    _show_user(out, user, "users_changed")


@app.command("scope", help=help_text("cli_users_scope"))
def scope(
    ctx: typer.Context,
    username: NameArg,
    codes: Annotated[
        list[str] | None, typer.Argument(help=help_text("cli_users_opt_scope_codes"))
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help=help_text("cli_users_opt_clear"))] = False,
) -> None:
    """Limit a user to admin units by code (``--clear``: the whole county)."""
    out = output(ctx)
    if not codes and not clear:
        out.errors.print(out.t("users_scope_needs_codes"))
        raise typer.Exit(code=2)
    actor = cli_actor()
    user = _run(
        out, lambda s: store.set_scope(s, username, [] if clear else codes or [], actor=actor)
    )
    _show_user(out, user, "users_changed")


@app.command("passwd", help=help_text("cli_users_passwd"))
def passwd(
    ctx: typer.Context,
    username: NameArg,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help=help_text("cli_users_opt_password_stdin"))
    ] = False,
) -> None:
    """Set a user's password; their open web sessions end."""
    out = output(ctx)
    password = _read_password(out, password_stdin)
    minimum = out.settings.auth.min_password_length
    actor = cli_actor()
    user = _run(
        out,
        lambda s: store.set_password(
            s, username, password, actor=actor, min_password_length=minimum
        ),
    )
    _show_user(out, user, "users_changed")


def _set_active(ctx: typer.Context, username: str, active: bool) -> None:
    out = output(ctx)
    actor = cli_actor()
    user = _run(out, lambda s: store.set_active(s, username, active, actor=actor))
    _show_user(out, user, "users_changed")


@app.command("deactivate", help=help_text("cli_users_deactivate"))
def deactivate(ctx: typer.Context, username: NameArg) -> None:
    """Stop a user's logins, sessions and keys (the user stays in the audit log)."""
    _set_active(ctx, username, False)


@app.command("activate", help=help_text("cli_users_activate"))
def activate(ctx: typer.Context, username: NameArg) -> None:
    """Let a deactivated user in again."""
    _set_active(ctx, username, True)


@app.command("create-key", help=help_text("cli_users_create_key"))
def create_key(
    ctx: typer.Context,
    username: NameArg,
    name: Annotated[str, typer.Option("--name", help=help_text("cli_users_opt_key_name"))],
) -> None:
    """Make an API key for a user; it is shown once."""
    out = output(ctx)
    actor = cli_actor()
    key_id, key = _run(out, lambda s: keys_store.create_key(s, username, name, actor=actor))
    data: dict[str, Any] = {"id": key_id, "prefix": key.prefix, "key": key.secret}
    out.result(
        data,
        lambda: out.say("users_key_created", id=key_id, username=username, key=key.secret),
    )


@app.command("keys", help=help_text("cli_users_keys"))
def keys(
    ctx: typer.Context,
    username: Annotated[str | None, typer.Argument(help=help_text("cli_users_opt_name"))] = None,
) -> None:
    """List API keys (prefixes only) with their state."""
    out = output(ctx)
    found = _run(out, lambda s: keys_store.list_keys(s, username))

    def render() -> None:
        table = Table(*(out.t(f"users_col_{c}") for c in ("id", "name", "key", "prefix", "used")))
        for k in found:
            state = out.t("users_key_revoked") if k.revoked_at else str(k.last_used_at or "-")
            table.add_row(str(k.id), k.username, k.name, k.prefix + "…", state)
        out.console.print(table)

    out.result({"keys": [k.__dict__ for k in found]}, render)


@app.command("revoke-key", help=help_text("cli_users_revoke_key"))
def revoke_key(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help=help_text("cli_users_opt_key"))],
) -> None:
    """Revoke an API key by id or shown prefix."""
    out = output(ctx)
    actor = cli_actor()
    revoked = _run(out, lambda s: keys_store.revoke_key(s, key, actor=actor))
    out.result(
        {"revoked": revoked.__dict__},
        lambda: out.say("users_key_revoked_done", id=revoked.id, prefix=revoked.prefix),
    )
