"""`hindfoot serve` and `hindfoot db ...`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
    workers: int = typer.Option(1, min=1, max=64, help="Server processes sharing the port (PostgreSQL for more than 1)."),
    graceful_seconds: int = typer.Option(
        30, min=0, max=600, help="On SIGTERM/SIGINT, stop accepting and let requests in flight finish for this long."),
    reload: bool = typer.Option(False, help="Reload on code changes (development; one process)."),
) -> None:
    """Serve the web app and the JSON API (OpenAPI at /api/docs; probes at /healthz and /readyz)."""
    import uvicorn

    from hindfoot.settings import get_settings

    settings = get_settings()
    if workers > 1 and reload:
        fail("--reload runs one process: leave out --workers")
    if workers > 1 and settings.is_sqlite:
        console.print("[yellow]several workers on SQLite share one writer lock; use PostgreSQL for real load[/]")
    console.print(f"hindfoot on [bold]http://{host}:{port}[/] · {workers} worker(s) · "
                  f"database {_redact(settings.database_url)}")
    uvicorn.run("hindfoot.app:create_app", factory=True, host=host, port=port, reload=reload,
                workers=workers if workers > 1 else None, proxy_headers=True, log_level="info",
                timeout_graceful_shutdown=graceful_seconds)


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


@db_app.command("backup")
def db_backup(file: Annotated[Path, typer.Argument(help="Where to write the backup (overwritten).")]) -> None:
    """Back up the configured database: SQLite's online backup API, or pg_dump --format=custom."""
    from hindfoot.db.backup import BackupError, backup
    from hindfoot.settings import get_settings

    url = get_settings().database_url
    if file.is_dir():
        fail(f"FILE: {file} is a directory; name the backup file")
    try:
        size = backup(url, file)
    except (BackupError, OSError) as exc:
        fail(f"could not back up {_redact(url)}: {exc}")
    console.print(f"backed up {_redact(url)} to [bold]{file}[/] ({size:,} bytes)")


@db_app.command("restore")
def db_restore(
    file: Annotated[Path, typer.Argument(help="A file written by `hindfoot db backup`.")],
    yes: bool = typer.Option(False, "--yes", help="Replace the database's contents without asking."),
) -> None:
    """Replace the configured database's contents with a backup (stop the servers first)."""
    from hindfoot.db.backup import BackupError, restore
    from hindfoot.settings import get_settings

    url = get_settings().database_url
    if not file.is_file():
        fail(f"FILE: no backup file at {file}")
    if not yes and not typer.confirm(f"Replace everything in {_redact(url)} with {file}?"):
        fail("not restored (answer yes, or pass --yes)")
    try:
        restore(url, file)
    except (BackupError, OSError) as exc:
        fail(f"could not restore {_redact(url)}: {exc}")
    console.print(f"restored {_redact(url)} from [bold]{file}[/]")
