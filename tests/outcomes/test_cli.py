"""`hindfoot score`: JSON in, unrounded JSON out; any bad input exits 2 naming the problem."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hindfoot.cli.main import app as cli_app

runner = CliRunner()


def run(tmp_path, instrument, content):
    path = tmp_path / "responses.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return runner.invoke(cli_app, ["score", instrument, str(path)])


def test_faos_prints_unrounded_json(tmp_path):
    responses = {"S1": 1, "S2": 2, "S3": 0, "S4": 3, "S5": 1, "S6": 0, "S7": 2, "Q1": 1, "Q2": None}
    result = run(tmp_path, "faos", responses)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["scores"]["symptoms"] == 100 - 225 / 7  # 67.85714285714286, not rounded
    assert "67.85714285714" in result.stdout
    assert out["scores"]["pain"] is None
    assert "qol: not scored, 1 of 4 items answered (at least 2 needed)" in out["notes"]


def test_faam_and_pain(tmp_path):
    faam = {f"ADL{i}": 3 for i in range(1, 22)} | {"SPORTS1": "na", "ADL_GLOBAL": 80}
    out = json.loads(run(tmp_path, "faam", faam).stdout)
    assert out["scores"] == {"adl": 75.0, "sports": None}
    assert json.loads(run(tmp_path, "pain", {"PAIN": 6}).stdout) == {
        "scores": {"pain": 6.0},
        "notes": [],
    }


def test_reads_stdin():
    result = runner.invoke(cli_app, ["score", "pain", "-"], input='{"PAIN": 2}')
    assert result.exit_code == 0
    assert json.loads(result.stdout)["scores"] == {"pain": 2.0}


@pytest.mark.parametrize(
    ("instrument", "content", "expected"),
    [
        ("koos", {"S1": 1}, "unknown instrument 'koos'"),
        ("faos", {"S9": 1}, "unknown item id 'S9'"),
        ("faos", {"S1": 7}, "S1: 7 is out of range"),
        ("faam", {"ADL3": "NA"}, "ADL3: 'NA' is not a valid answer"),
        ("pain", {"PAIN": 11}, "PAIN: 11 is out of range"),
        ("pain", '{"PAIN": 3', "malformed JSON at line 1"),
        ("pain", "[1, 2]", "expected a JSON object"),
    ],
)
def test_bad_input_exits_2(tmp_path, instrument, content, expected):
    result = run(tmp_path, instrument, content)
    assert result.exit_code == 2
    assert expected in result.stderr
    assert result.stdout == ""


def test_unreadable_file(tmp_path):
    result = runner.invoke(cli_app, ["score", "pain", str(tmp_path / "absent.json")])
    assert result.exit_code == 2
    assert "cannot read" in result.stderr and "absent.json" in result.stderr
