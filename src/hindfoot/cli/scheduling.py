"""`hindfoot reminders send`: e-mail a reminder before each booked visit, once (suitable for cron);
`hindfoot waitlist send`: e-mail the waitlist offers not sent yet.

Each reminder is claimed in the database before it is sent, so overlapping runs, retries and a
crash half-way never send one twice; a reminder whose send failed is released for the next run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import typer

from hindfoot.cli.errors import fail

reminders_app = typer.Typer(help="Appointment reminders.", no_args_is_help=True)
waitlist_app = typer.Typer(help="The waitlist's offers of freed times.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(reminders_app, name="reminders")
    app.add_typer(waitlist_app, name="waitlist")


@waitlist_app.command("send")
def send_offers() -> None:
    """E-mail every waitlist offer not sent yet (the app sends them after each cancellation; this catches
    any whose send failed, e.g. from cron). Prints how many went."""
    from hindfoot.db.engine import make_engine, make_sessionmaker
    from hindfoot.db.job_lock import job_lock
    from hindfoot.scheduling.waitlist import send_pending
    from hindfoot.settings import get_settings

    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        with job_lock(engine, "waitlist-send") as mine:
            if not mine:
                typer.echo("another `hindfoot waitlist send` is running on this database: nothing done.")
                return
            sent = send_pending(make_sessionmaker(engine), settings)
    finally:
        engine.dispose()
    typer.echo(f"waitlist: {sent} offer{'' if sent == 1 else 's'} e-mailed")


@reminders_app.command("send")
def send(
    within_hours: int = typer.Option(
        24, "--within-hours", min=1, max=24 * 14,
        help="Remind about booked visits starting within this many hours from now.",
    ),
    now: str = typer.Option(None, "--now", metavar="ISO-8601",
                            help="Pretend it is this instant (for testing); default: the real time."),
) -> None:
    """Send due appointment reminders; prints how many were due, sent, failed and skipped."""
    from hindfoot.db.engine import make_engine, make_sessionmaker
    from hindfoot.db.job_lock import job_lock
    from hindfoot.scheduling.notifications import send_reminders
    from hindfoot.settings import get_settings

    if now is None:
        instant = datetime.now(UTC)
    else:
        try:
            instant = datetime.fromisoformat(now.replace("Z", "+00:00"))
        except ValueError:
            fail(f"--now: {now!r} is not an ISO-8601 date-time")
        if instant.tzinfo is None:
            fail(f"--now: {now!r} needs a time zone, e.g. 2026-03-02T08:00:00Z")
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        with job_lock(engine, "reminders-send") as mine:
            if not mine:
                typer.echo("another `hindfoot reminders send` is running on this database: nothing done.")
                return
            run = send_reminders(make_sessionmaker(engine), settings, now=instant,
                                 within=timedelta(hours=within_hours))
    finally:
        engine.dispose()
    typer.echo(f"reminders: {run.due} due, {run.sent} sent, {run.failed} failed, {run.skipped} skipped")
    if run.failed:
        raise typer.Exit(code=1)
