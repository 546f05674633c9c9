"""`hindfoot score faos|faam|pain FILE`: score one questionnaire response from a JSON file.

Meant for checking a score by hand and for scripting exports: the input is the same
`{"item_id": value or null}` object the app stores, the output the same unrounded JSON the API
returns, so a clinician can reproduce any stored score outside the app.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from hindfoot.cli.errors import fail
from hindfoot.outcomes import scoring

outcomes_app = typer.Typer(help="Outcome questionnaires: reminders, the registry dashboard's totals.",
                           no_args_is_help=True)
instruments_app = typer.Typer(help="Outcome instruments: load a clinic's licensed wording.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("score")(score)
    app.add_typer(outcomes_app, name="outcomes")
    app.add_typer(instruments_app, name="instruments")


@outcomes_app.command("remind")
def remind(
    today: Annotated[str | None, typer.Option("--today", metavar="YYYY-MM-DD", help="Date to judge what is due.")] = None,
) -> None:
    """Email each patient whose questionnaires are due, once per time point (safe to run daily)."""
    from datetime import date

    from rich.console import Console
    from sqlalchemy.exc import IntegrityError

    from hindfoot.db.engine import make_engine, make_sessionmaker
    from hindfoot.db.job_lock import job_lock
    from hindfoot.db.session import unit_of_work
    from hindfoot.notifications.email import EmailError
    from hindfoot.outcomes import reminders
    from hindfoot.settings import get_settings

    try:
        day = date.fromisoformat(today) if today else date.today()
    except ValueError:
        fail(f"--today: {today!r} is not a date in the form YYYY-MM-DD")
    settings = get_settings()
    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    sent = failed = 0
    todo: list[reminders.Reminder] = []
    try:
        with job_lock(engine, "outcomes-remind") as mine:
            if not mine:
                Console().print("another `hindfoot outcomes remind` is running on this database: nothing done.")
                return
            with factory() as db:
                todo = reminders.pending(db, day)
            for item in todo:
                try:
                    with unit_of_work(factory) as db:  # one commit per email: a crash never resends
                        reminders.send_reminder(db, settings, item)
                    sent += 1
                except IntegrityError:
                    pass  # sent meanwhile by a run that did not take the lock: skipped, not resent
                except EmailError as exc:
                    failed += 1
                    Console(stderr=True).print(f"[yellow]not sent[/] {item.timepoint} reminder: {exc}",
                                               highlight=False)
    finally:
        engine.dispose()
    Console().print(f"{sent} reminder(s) sent, {failed} failed, {len(todo) - sent - failed} skipped.")
    if failed:
        raise typer.Exit(code=1)


@outcomes_app.command("rebuild-registry")
def rebuild_registry() -> None:
    """Rebuild the registry dashboard's per-episode rows and totals from the record (after a bulk
    import that bypassed the application). Writers wait while it runs; safe to repeat."""
    import time

    from rich.console import Console
    from sqlalchemy import func, select

    from hindfoot.db.engine import make_engine
    from hindfoot.db.maintenance import analyze
    from hindfoot.db.models import RegistryEpisode
    from hindfoot.db.models.registry import REGISTRY_TABLES
    from hindfoot.db.registry_sync import refresh_registry
    from hindfoot.settings import get_settings

    engine = make_engine(get_settings().database_url)
    started = time.perf_counter()
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # no write moves a share while the totals are rebuilt
                conn.exec_driver_sql("LOCK TABLE " + ", ".join(REGISTRY_TABLES) + " IN ACCESS EXCLUSIVE MODE")
            refresh_registry(conn)
            episodes = conn.scalar(select(func.count()).select_from(RegistryEpisode))
        analyze(engine, REGISTRY_TABLES)
    finally:
        engine.dispose()
    Console().print(f"registry rebuilt: {episodes:,} episodes in {time.perf_counter() - started:,.1f} s")


@instruments_app.command("load")
def load_instrument_file(
    file: Annotated[Path, typer.Argument(help="A FHIR Questionnaire JSON with the same item ids and answer codes.")],
    instrument: Annotated[str | None, typer.Option(help="faos, faam, pain or rts (default: from the item ids).")] = None,
) -> None:
    """Store a clinic's own Questionnaire (e.g. the licensed wording) as the newest version."""
    from rich.console import Console

    from hindfoot.db.engine import make_engine, make_sessionmaker
    from hindfoot.db.session import unit_of_work
    from hindfoot.outcomes import service as outcomes_service
    from hindfoot.outcomes.instruments import InstrumentError, load_questionnaire_file
    from hindfoot.settings import get_settings

    try:
        parsed = load_questionnaire_file(file, instrument)
    except InstrumentError as exc:
        fail(exc.message)
    definition = json.loads(file.read_text(encoding="utf-8"))
    engine = make_engine(get_settings().database_url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as db:
            outcomes_service.questionnaire_for(db, parsed.code)  # the shipped version first, if none yet
            row = outcomes_service.load_questionnaire_version(db, parsed, definition)
            version = row.version
    finally:
        engine.dispose()
    Console().print(f"loaded {parsed.code} version [bold]{version}[/] ({len(parsed.items)} items) from {file}")


def score(
    instrument: Annotated[str, typer.Argument(help="Instrument: faos, faam or pain.")],
    file: Annotated[
        Path,
        typer.Argument(help='JSON object {"item_id": value or null}; "-" reads standard input.'),
    ],
) -> None:
    """Score a questionnaire response and print {"scores": ..., "notes": [...]} as JSON."""
    if instrument not in scoring.SCORED_INSTRUMENTS:
        fail(
            f"unknown instrument {instrument!r}: use one of {', '.join(scoring.SCORED_INSTRUMENTS)}"
        )
    responses = _read_responses(file)
    try:
        result = scoring.score(instrument, responses)
    except scoring.ScoringInputError as exc:
        fail(f"{file}: {exc.message}")
    typer.echo(json.dumps(result))


def _read_responses(file: Path) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}")
    except UnicodeDecodeError:
        fail(f"{file}: not UTF-8 text")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{file}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")
    if not isinstance(data, dict):
        fail(
            f'{file}: expected a JSON object {{"item_id": value or null}}, got {type(data).__name__}'
        )
    return data
