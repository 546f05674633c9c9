"""`hindfoot plan` through the real root app."""

from __future__ import annotations

import json

import pytest
from icalendar import Calendar
from typer.testing import CliRunner

from hindfoot.cli.main import app

runner = CliRunner()
BASE = [
    "plan",
    "--procedure",
    "posterior_arthroscopic_excision",
    "--start",
    "2025-03-03",
    "--sport",
    "ballet",
]


def test_json_output() -> None:
    result = runner.invoke(app, [*BASE, "--level", "professional", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["procedure"], data["sport"], data["level"], data["start"]) == (
        "posterior_arthroscopic_excision",
        "ballet",
        "professional",
        "2025-03-03",
    )
    ids = {m["id"] for m in data["milestones"]}
    assert {"crutches_off", "barre", "centre", "pointe", "full_performance"} <= ids
    crutches = next(m for m in data["milestones"] if m["id"] == "crutches_off")
    assert crutches["earliest"] == "2025-03-10" and crutches["latest"] == "2025-03-18"
    for m in data["milestones"]:
        assert {
            "id",
            "title",
            "earliest",
            "typical",
            "latest",
            "criteria",
            "source",
            "category",
        } <= set(m)
        assert m["earliest"] <= m["typical"] <= m["latest"]


def test_level_defaults_to_recreational_and_text_table() -> None:
    result = runner.invoke(app, BASE)
    assert result.exit_code == 0, result.output
    assert "level recreational" in result.stdout
    assert "crutches_off" in result.stdout and "2025-03-10" in result.stdout


def test_ics_output_parses() -> None:
    result = runner.invoke(app, [*BASE, "--format", "ics"])
    assert result.exit_code == 0, result.output
    cal = Calendar.from_ical(result.stdout)
    assert len(list(cal.walk("VEVENT"))) > 10


@pytest.mark.parametrize(
    ("args", "named", "allowed"),
    [
        (["--procedure", "knee_scope"], "knee_scope", "open_excision"),
        (["--sport", "chess"], "chess", "cricket_fast_bowling"),
        (["--level", "elite"], "elite", "professional"),
        (["--format", "pdf"], "pdf", "ics"),
        (["--start", "2025-02-30"], "2025-02-30", "YYYY-MM-DD"),
    ],
)
def test_bad_values_exit_2_naming_value_and_allowed(
    args: list[str], named: str, allowed: str
) -> None:
    merged = list(BASE)
    for flag, value in zip(args[::2], args[1::2], strict=True):
        if flag in merged:
            merged[merged.index(flag) + 1] = value
        else:
            merged += [flag, value]
    result = runner.invoke(app, merged)
    assert result.exit_code == 2
    assert named in result.stderr and allowed in result.stderr
