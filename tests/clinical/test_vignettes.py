"""The regression set (tests/clinical/vignettes.json = shared/clinical/vignettes.json) and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hindfoot.assessment.schemas import Expected, parse_case
from hindfoot.cli.assessment import evaluate
from hindfoot.cli.main import app
from hindfoot.knowledge.loader import load_kb

HERE = Path(__file__).parent
VIGNETTES_FILE = HERE / "vignettes.json"
VIGNETTES = json.loads(VIGNETTES_FILE.read_text())
SHARED = Path("/work/shared/clinical/vignettes.json")
runner = CliRunner()


@pytest.fixture(scope="module")
def scores() -> dict:
    kb = load_kb()
    return evaluate([(parse_case(v, kb), Expected.model_validate(v["expected"])) for v in VIGNETTES], kb)


# The copy in the package must equal the project's shared contract; only a checkout without
# ../shared (e.g. an installed package) cannot compare them.
@pytest.mark.skipif(not SHARED.exists(), reason="../shared/clinical is not beside this checkout")
def test_copy_matches_the_shared_regression_set() -> None:
    assert json.loads(SHARED.read_text()) == VIGNETTES


def test_top1_at_least_95_percent(scores: dict) -> None:
    assert scores["top1"] >= 0.95, scores["misses"]


def test_top3_is_100_percent(scores: dict) -> None:
    assert scores["top3"] == 1.0, scores["misses"]


def test_disposition_exact_at_least_95_percent(scores: dict) -> None:
    assert scores["disposition_exact"] >= 0.95, scores["misses"]


def test_zero_under_triage_of_emergency_and_urgent(scores: dict) -> None:
    assert scores["unsafe_under_triage"] == 0, scores["under_triage_cases"]


def test_posteriors_are_reasonably_calibrated(scores: dict) -> None:
    assert scores["brier"] < 0.15


def test_cli_eval_human_and_json() -> None:
    res = runner.invoke(app, ["eval", str(VIGNETTES_FILE)])
    assert res.exit_code == 0, res.output
    assert "top-1" in res.output and "Brier" in res.output
    res = runner.invoke(app, ["eval", str(VIGNETTES_FILE), "--json"])
    assert res.exit_code == 0
    data = json.loads(res.output)
    assert data["cases"] == len(VIGNETTES) and data["unsafe_under_triage"] == 0


def test_cli_assess_single_object_and_array(tmp_path: Path) -> None:
    one = tmp_path / "one.json"
    one.write_text(json.dumps(VIGNETTES[0]))
    res = runner.invoke(app, ["assess", str(one)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert isinstance(out, dict) and out["id"] == VIGNETTES[0]["id"]
    assert {"id", "ranking", "disposition", "red_flags", "next_questions"} <= set(out)
    first = out["ranking"][0]
    assert {"condition", "probability", "for", "against"} <= set(first)
    assert len(out["ranking"]) == len(load_kb().conditions)

    many = tmp_path / "many.json"
    many.write_text(json.dumps(VIGNETTES[:3]))
    res = runner.invoke(app, ["assess", str(many)])
    assert res.exit_code == 0
    out = json.loads(res.output)
    assert isinstance(out, list) and [o["id"] for o in out] == [v["id"] for v in VIGNETTES[:3]]


@pytest.mark.parametrize(
    ("content", "needles"),
    [
        ({"id": "x", "present": ["pain_back_of_ankle", "zz_unknown"], "mood": "ok"}, ["zz_unknown", "mood"]),
        ([{"id": "a", "present": []}, {"id": "b", "absent": ["qq_bad"]}], ["qq_bad"]),
        ("not json", ["not valid JSON"]),
        (42, ["expected a case object"]),
    ],
)
def test_cli_assess_bad_input_is_exit_2(tmp_path: Path, content: object, needles: list[str]) -> None:
    f = tmp_path / "bad.json"
    f.write_text(content if isinstance(content, str) else json.dumps(content))
    res = runner.invoke(app, ["assess", str(f)])
    assert res.exit_code == 2
    for n in needles:
        assert n in res.output


def test_cli_eval_needs_expected(tmp_path: Path) -> None:
    f = tmp_path / "noexp.json"
    f.write_text(json.dumps([{"id": "a", "present": ["pain_back_of_ankle"]}]))
    res = runner.invoke(app, ["eval", str(f)])
    assert res.exit_code == 2
    assert "expected" in res.output


def test_cli_assess_missing_file_is_exit_2(tmp_path: Path) -> None:
    res = runner.invoke(app, ["assess", str(tmp_path / "nope.json")])
    assert res.exit_code == 2
