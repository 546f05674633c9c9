"""`hindfoot clinic init`: set up a clinic of one's own (instead of the demo) with its first admin."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from hindfoot.cli.errors import fail

clinic_app = typer.Typer(help="Your own clinic: set it up once; admins add staff at /admin/staff.",
                         no_args_is_help=True)

PASSWORD_ENV = "HINDFOOT_ADMIN_PASSWORD"


@clinic_app.command("init")
def init(
    name: Annotated[str, typer.Option("--name", help="The clinic's name, as patients see it.")],
    admin_email: Annotated[str, typer.Option("--admin-email", help="The first admin's sign-in email.")],
    admin_given_name: Annotated[str, typer.Option("--admin-given-name", help="The first admin's given name.")],
    admin_family_name: Annotated[str, typer.Option("--admin-family-name", help="The first admin's family name.")],
    timezone: Annotated[str, typer.Option("--timezone", help="IANA time zone of the clinic.")] = "Europe/London",
) -> None:
    """Create the organisation, its bookable services and the first admin account. The password is
    asked for twice (or read from HINDFOOT_ADMIN_PASSWORD). Then sign in and add locations, the rota
    and staff."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from rich.console import Console

    from hindfoot.clinic import staff
    from hindfoot.db.engine import make_engine, make_sessionmaker
    from hindfoot.db.session import unit_of_work
    from hindfoot.errors import InvalidInput
    from hindfoot.settings import get_settings

    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        fail(f"--timezone: unknown time zone {timezone!r} (e.g. Europe/London)")
    password = os.environ.get(PASSWORD_ENV) or typer.prompt(
        "Password for the first admin (at least 10 characters)", hide_input=True, confirmation_prompt=True)
    engine = make_engine(get_settings().database_url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as db:
            org, account = staff.init_clinic(db, name=name, admin_email=admin_email,
                                             admin_given_name=admin_given_name, admin_family_name=admin_family_name,
                                             password=password, timezone=timezone)
            summary = f"{org.name}: admin {account.email} can sign in now"
    except InvalidInput as exc:
        option = {"password": "password", None: "input"}.get(exc.field) or "--" + str(exc.field).replace("_", "-")
        fail(f"{option}: {exc.message}")
    finally:
        engine.dispose()
    Console().print(f"[bold green]set up[/] {summary}. Next: locations and rota at /calendar, staff at /admin/staff.")


def register(app: typer.Typer) -> None:
    app.add_typer(clinic_app, name="clinic")
