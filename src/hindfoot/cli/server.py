"""`hindfoot serve` and `hindfoot db ...`."""

from __future__ import annotations

import typer
from rich.console import Console

from hindfoot.cli.errors import fail

console = Console()
db_app = typer.Typer(help="Database schema: migrate with Alembic.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(db_app, name="db")


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port."),
    reload: bool = typer.Option(False, help="Reload on code changes (development)."),
) -> None:
    """Serve the web app and the JSON API (OpenAPI at /api/docs)."""
    import uvicorn

    from hindfoot.settings import get_settings

    settings = get_settings()
    console.print(f"hindfoot on [bold]http://{host}:{port}[/] · database {_redact(settings.database_url)}")
    uvicorn.run("hindfoot.app:create_app", factory=True, host=host, port=port, reload=reload,
                proxy_headers=True, log_level="info")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - never let a display helper break start-up
        return "(unparseable URL)"


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Create or migrate the database schema to the latest revision."""
    from hindfoot.db.migrate import current_revision, upgrade
    from hindfoot.settings import get_settings

    url = get_settings().database_url
    try:
        upgrade(url, revision)
    except Exception as exc:  # noqa: BLE001 - report any driver/Alembic error as a CLI error
        fail(f"could not migrate {_redact(url)}: {exc}")
    console.print(f"database {_redact(url)} at revision [bold]{current_revision(url)}[/]")


@db_app.command("downgrade")
def db_downgrade(revision: str = typer.Argument(..., help="Target revision, e.g. base.")) -> None:
    """Migrate the schema down to an earlier revision."""
    from hindfoot.db.migrate import current_revision, downgrade
    from hindfoot.settings import get_settings

    url = get_settings().database_url
    try:
        downgrade(url, revision)
    except Exception as exc:  # noqa: BLE001
        fail(f"could not downgrade {_redact(url)}: {exc}")
    console.print(f"database {_redact(url)} at revision [bold]{current_revision(url)}[/]")


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision of the configured database."""
    from hindfoot.db.migrate import current_revision
    from hindfoot.settings import get_settings

    url = get_settings().database_url
    console.print(current_revision(url) or "(empty database)")
