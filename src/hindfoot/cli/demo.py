"""`hindfoot demo`: migrate the configured database and load the demo clinic (idempotent)."""

from __future__ import annotations

from datetime import date

import typer
from rich.console import Console
from rich.table import Table

from hindfoot.cli.errors import fail

console = Console()


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    today: str = typer.Option(
        None, "--today", metavar="YYYY-MM-DD",
        help="Date the demo story is told relative to (reproducible data); default: today.",
    ),
    patients: int = typer.Option(
        0, "--patients", min=0, max=2_000_000,
        help="Also add N synthetic registry patients to the demo clinic (outcomes dashboard at scale).",
    ),
) -> None:
    """Load the demo clinic: staff, three London locations and 50 patients across the pathway."""
    from hindfoot.db.engine import make_engine, make_sessionmaker
    from hindfoot.db.maintenance import analyze
    from hindfoot.db.migrate import upgrade
    from hindfoot.db.models.episode import STAGE_LABELS
    from hindfoot.db.session import unit_of_work
    from hindfoot.demo import DEMO_PASSWORD
    from hindfoot.demo.loader import load_demo
    from hindfoot.settings import get_settings

    if today is None:
        day = date.today()
    else:
        try:
            day = date.fromisoformat(today)
        except ValueError:
            fail(f"--today: {today!r} is not a date in the form YYYY-MM-DD")
    settings = get_settings()
    try:
        upgrade(settings.database_url)
    except Exception as exc:  # noqa: BLE001 - any driver/Alembic error is a CLI error
        fail(f"could not migrate the database: {exc}")
    engine = make_engine(settings.database_url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            summary = load_demo(session, day)
        if summary.created:
            analyze(engine)  # planner statistics for the new rows (the registry generator does its own)
        if patients:
            _add_registry(engine, patients, day)
    finally:
        engine.dispose()

    if summary.created:
        console.print(f"[bold green]Demo clinic loaded[/] (dates relative to {day.isoformat()}).")
    else:
        console.print("[yellow]The demo clinic is already loaded; nothing was changed.[/]")
    stages = Table(title=f"{summary.patients} patients by pathway stage")
    stages.add_column("Stage")
    stages.add_column("Patients", justify="right")
    for stage, count in summary.stage_counts.items():
        stages.add_row(STAGE_LABELS.get(stage, stage), str(count))
    console.print(stages)
    accounts = Table(title=f"Demo accounts (password: {DEMO_PASSWORD})")
    accounts.add_column("Role")
    accounts.add_column("Email", no_wrap=True, min_width=28)
    accounts.add_column("Name")
    for role, email, name, _description in summary.accounts:
        accounts.add_row(role, email, name)
    console.print(accounts)
    console.print(f"Every demo account signs in with the password [bold]{DEMO_PASSWORD}[/].")


def _add_registry(engine, patients: int, day: date) -> None:  # type: ignore[no-untyped-def]
    """`--patients N`: bulk-add registry patients (deterministic seed) with a progress bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from hindfoot.demo.registry import add_registry_patients

    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=console) as progress:
        task = progress.add_task("registry patients", total=patients)
        result = add_registry_patients(engine, patients, today=day, progress=lambda k: progress.advance(task, k))
    console.print(f"[bold green]{result.patients:,} registry patients added[/] ({result.rows:,} rows in "
                  f"{result.seconds:.1f} s, {result.patients / result.seconds:,.0f} patients/s).")
