"""`hindfoot audit verify`: walk the audit trail's hash chain and name the first broken link (exit 1)."""

from __future__ import annotations

import typer

audit_app = typer.Typer(help="The audit trail: check that nobody edited it in the database.", no_args_is_help=True)


@audit_app.command("verify")
def verify() -> None:
    """Recompute every event's hash in sequence. Exit 0 when the chain holds; exit 1 naming the first
    event that was edited, deleted, inserted or left off the chain."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
    from sqlalchemy import func, select

    import hindfoot.audit.service as audit_service
    from hindfoot.db.engine import make_engine, make_sessionmaker
    from hindfoot.db.models import AuditEvent
    from hindfoot.settings import get_settings

    engine = make_engine(get_settings().database_url)
    try:
        with make_sessionmaker(engine)() as db:
            total = db.scalar(select(func.count()).select_from(AuditEvent)) or 0
            with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                          TimeRemainingColumn(), transient=True, console=Console(stderr=True)) as progress:
                task = progress.add_task("checking the audit chain", total=total)
                checked, broken = audit_service.verify_chain(db, progress=lambda n: progress.advance(task, n))
    finally:
        engine.dispose()
    console = Console()
    if broken is None:
        console.print(f"[bold green]intact[/]: {checked} audit events, each hash chained to the one before")
        return
    where = f"event {broken.seq}" if broken.seq is not None else "an event"
    console.print(f"[bold red]broken[/] at {where} (id {broken.event_id}): {broken.reason}. "
                  f"{checked} events before it hold.", highlight=False, soft_wrap=True)
    raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
