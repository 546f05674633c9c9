"""`hindfoot plan`: print a dated recovery plan as a table, JSON or an iCalendar file.

Thin on purpose: parse and check the options, call the pure planner, render. Bad values exit
with code 2 through `fail`, naming the value and listing the allowed ones, so scripts and
people get the same answer.
"""

from __future__ import annotations

import json
from datetime import date

import typer
from rich.console import Console
from rich.table import Table

from hindfoot.cli.errors import fail
from hindfoot.recovery import ical
from hindfoot.recovery.planner import LEVELS, PROCEDURES, SPORTS, RecoveryPlan, build_plan

FORMATS = ("text", "json", "ics")


def register(app: typer.Typer) -> None:
    """Add `plan` to the root CLI."""
    app.command("plan")(plan)


def _choice(value: str, allowed: tuple[str, ...], option: str) -> str:
    if value not in allowed:
        fail(f"unknown {option} {value!r}; allowed: {', '.join(allowed)}")
    return value


def plan(
    procedure: str = typer.Option(..., "--procedure", help=f"One of: {', '.join(PROCEDURES)}."),
    start: str = typer.Option(
        ..., "--start", help="Day of surgery, or first day of conservative care (YYYY-MM-DD)."
    ),
    sport: str = typer.Option(..., "--sport", help=f"One of: {', '.join(SPORTS)}."),
    level: str = typer.Option("recreational", "--level", help=f"One of: {', '.join(LEVELS)}."),
    output_format: str = typer.Option("text", "--format", help=f"One of: {', '.join(FORMATS)}."),
) -> None:
    """Print a dated, sport-specific recovery plan with milestone windows and criteria."""
    _choice(procedure, PROCEDURES, "--procedure")
    _choice(sport, SPORTS, "--sport")
    _choice(level, LEVELS, "--level")
    _choice(output_format, FORMATS, "--format")
    try:
        start_date = date.fromisoformat(start)
    except ValueError:
        fail(f"bad --start {start!r}; expected a date as YYYY-MM-DD")
    recovery_plan = build_plan(procedure, start_date, sport, level)
    if output_format == "json":
        typer.echo(json.dumps(_as_json(recovery_plan), indent=2))
    elif output_format == "ics":
        typer.echo(ical.to_ics(recovery_plan).decode("utf-8"), nl=False)
    else:
        _print_table(recovery_plan)


def _as_json(recovery_plan: RecoveryPlan) -> dict[str, object]:
    data = recovery_plan.to_json_dict()
    head = {k: data.pop(k) for k in ("procedure", "sport", "level", "start")}
    return {**head, **data}


def _print_table(recovery_plan: RecoveryPlan) -> None:
    console = Console()
    if not console.is_terminal:  # piped: do not squeeze the table into 80 columns
        console = Console(width=180)
    console.print(
        f"[bold]{recovery_plan.procedure_label}[/] · sport {recovery_plan.sport} · "
        f"level {recovery_plan.level} · start {recovery_plan.start.isoformat()}"
    )
    table = Table(header_style="bold")
    table.add_column("Milestone", ratio=3)
    table.add_column("Days", no_wrap=True)
    table.add_column("Earliest", no_wrap=True)
    table.add_column("Typical", no_wrap=True)
    table.add_column("Latest", no_wrap=True)
    table.add_column("Criteria to progress", ratio=4)
    table.add_column("Source", ratio=2)
    for m in recovery_plan.milestones:
        title = f"{m.title} [dim]({m.id}, {m.category})[/]"
        if m.range_note:
            title += " [yellow]sources differ: range shown[/]"
        table.add_row(
            title,
            f"{m.earliest_day}-{m.typical_day}-{m.latest_day}",
            m.earliest.isoformat(),
            m.typical.isoformat(),
            m.latest.isoformat(),
            "; ".join(m.criteria),
            m.source,
        )
    console.print(table)
    console.print(
        "[dim]Days = earliest-typical-latest after the start. Dates are forecasts; move on when "
        "the criteria are met. Where sources differ the window spans both.[/]"
    )
