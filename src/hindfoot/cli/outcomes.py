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


def register(app: typer.Typer) -> None:
    app.command("score")(score)


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
