"""The knowledge base: valid, covers the vocabulary contract, and `kb check` catches a broken one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from hindfoot.cli.main import app
from hindfoot.knowledge.loader import DATA_DIR, KnowledgeBaseError, check_kb, load_kb

SHARED_VOCAB = Path("/work/shared/clinical/vocabulary.yaml")
runner = CliRunner()


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    d = tmp_path / "kb"
    shutil.copytree(DATA_DIR, d)
    return d


def _edit(path: Path, fn) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(path.read_text())
    fn(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_packaged_kb_is_valid() -> None:
    assert check_kb() == []
    kb = load_kb()
    assert load_kb() is kb  # cached


def test_every_vocabulary_id_is_covered_with_the_same_group() -> None:
    kb = load_kb()
    assert {c.id for c in kb.vocabulary.conditions} <= set(kb.condition_by_id)
    for fid, group in kb.vocabulary.finding_groups().items():
        assert kb.finding_by_id[fid].group == group


# The copy in the package must equal the project's shared contract; only a checkout without
# ../shared (e.g. an installed package) cannot compare them.
@pytest.mark.skipif(not SHARED_VOCAB.exists(), reason="../shared/clinical is not beside this checkout")
def test_packaged_vocabulary_is_the_shared_contract() -> None:
    assert (DATA_DIR / "vocabulary.yaml").read_text() == SHARED_VOCAB.read_text()


def test_every_number_has_a_known_source_and_patient_wording() -> None:
    kb = load_kb()
    known = set(kb.sources.sources)
    for c in kb.conditions:
        assert set(c.prior.src) <= known
        assert c.patient.name and c.patient.explanation and c.patient.consultation
        assert c.codes.icd10
        for lk in c.likelihoods.values():
            assert lk.src and set(lk.src) <= known and 0 < lk.p < 1
        for m in c.modifiers:
            assert set(m.src) <= known
    for f in kb.findings:
        assert f.question.strip()
        assert f.settings == (("self", "clinic") if f.group == "history" else ("clinic",))


def test_probability_out_of_range_is_reported(kb_copy: Path) -> None:
    _edit(kb_copy / "conditions.yaml", lambda d: d["conditions"][0]["likelihoods"]["pain_on_pointing_toes"].update(p=1.5))
    problems = check_kb(kb_copy)
    assert any("pain_on_pointing_toes" in p and "1.5" in p for p in problems), problems
    with pytest.raises(KnowledgeBaseError):
        load_kb(kb_copy)


def test_missing_source_is_reported(kb_copy: Path) -> None:
    _edit(kb_copy / "conditions.yaml", lambda d: d["conditions"][0]["likelihoods"]["pain_back_of_ankle"].pop("src"))
    problems = check_kb(kb_copy)
    assert any("pain_back_of_ankle.src" in p for p in problems), problems


def test_unknown_source_key_is_reported(kb_copy: Path) -> None:
    _edit(kb_copy / "conditions.yaml", lambda d: d["conditions"][1]["likelihoods"]["pain_front_of_ankle"].update(src=["NOPE99"]))
    problems = check_kb(kb_copy)
    assert any("NOPE99" in p and "pain_front_of_ankle" in p for p in problems), problems


def test_unknown_ids_and_missing_coverage_are_reported(kb_copy: Path) -> None:
    def edit_cond(d):  # type: ignore[no-untyped-def]
        d["conditions"] = [c for c in d["conditions"] if c["id"] != "septic_arthritis"]
        d["conditions"][0]["likelihoods"]["made_up_finding"] = {"p": 0.5, "src": ["EE"]}

    def edit_rules(d):  # type: ignore[no-untyped-def]
        d["rules"][0]["all_of"][0].append("not_a_finding")
        d["rules"][1]["suspected"] = "not_a_condition"

    _edit(kb_copy / "conditions.yaml", edit_cond)
    _edit(kb_copy / "red_flags.yaml", edit_rules)
    problems = "\n".join(check_kb(kb_copy))
    assert "septic_arthritis" in problems
    assert "made_up_finding" in problems
    assert "not_a_finding" in problems
    assert "not_a_condition" in problems


def test_unknown_ids_in_a_rules_answered_no_lists_are_reported(kb_copy: Path) -> None:
    def edit_rules(d):  # type: ignore[no-untyped-def]
        d["rules"][0]["unless_absent"] = ["no_such_finding"]
        d["rules"][1]["requires_absent"] = ["nor_this_one"]

    _edit(kb_copy / "red_flags.yaml", edit_rules)
    problems = "\n".join(check_kb(kb_copy))
    assert "'no_such_finding' in unless_absent" in problems
    assert "'nor_this_one' in requires_absent" in problems


def test_a_rule_whose_answered_no_lists_mean_it_can_never_fire_is_reported(kb_copy: Path) -> None:
    # "must be answered no" and "a no rules it out" on one finding, or a group that must be present made
    # only of findings that must be answered no: a safety net that silently never fires
    def edit_rules(d):  # type: ignore[no-untyped-def]
        d["rules"][0]["requires_absent"] = d["rules"][0]["unless_absent"] = ["swelling_whole_ankle"]
        d["rules"][1]["requires_absent"] = list(d["rules"][1]["all_of"][0])

    _edit(kb_copy / "red_flags.yaml", edit_rules)
    problems = [p for p in check_kb(kb_copy) if "can never fire" in p]
    assert len(problems) == 2, problems


def test_requires_absent_on_a_screening_rule_is_reported(kb_copy: Path) -> None:
    # its questions would be asked for a rule that cannot fire: only a finding the presenting complaint asks
    # (before every screen) as a yes/no or one-answer question may be required "no" (calf pain is a place
    # of "where does it hurt?", never answered "no")
    def edit_rules(d):  # type: ignore[no-untyped-def]
        rule = next(r for r in d["rules"] if r.get("screen"))
        rule["requires_absent"] = ["calf_pain"]

    _edit(kb_copy / "red_flags.yaml", edit_rules)
    assert any("requires_absent" in p and "screen" in p for p in check_kb(kb_copy))


def test_bad_disposition_in_a_rule_is_reported(kb_copy: Path) -> None:
    _edit(kb_copy / "red_flags.yaml", lambda d: d["rules"][1].update(disposition="whenever"))
    assert any("whenever" in p for p in check_kb(kb_copy))


def test_exclusive_findings_summing_over_one_are_reported(kb_copy: Path) -> None:
    """A gout flare is under two weeks in 0.70 of cases; it cannot also have lasted over three months in
    0.45 (the inflammatory table's value before its subtypes gave their own)."""
    def edit(d):  # type: ignore[no-untyped-def]
        c = next(c for c in d["conditions"] if c["id"] == "inflammatory_arthritis")
        c["subtypes"][0]["likelihoods"].pop("duration_over_3_months")

    _edit(kb_copy / "conditions.yaml", edit)
    problems = check_kb(kb_copy)
    assert any("inflammatory_arthritis.subtypes.gout" in p and "duration_over_3_months" in p for p in problems), problems


def test_cli_kb_check_ok() -> None:
    res = runner.invoke(app, ["kb", "check"])
    assert res.exit_code == 0, res.output
    assert "knowledge base OK" in res.output


def test_cli_kb_check_fails_loudly_on_a_broken_kb(kb_copy: Path) -> None:
    _edit(kb_copy / "conditions.yaml", lambda d: d["conditions"][2]["prior"].update(p=0.0))
    res = runner.invoke(app, ["kb", "check", "--data-dir", str(kb_copy)])
    assert res.exit_code == 1
    assert "INVALID" in res.output and "prior" in res.output


def test_cli_kb_check_against_an_external_vocabulary(tmp_path: Path) -> None:
    vocab = yaml.safe_load((DATA_DIR / "vocabulary.yaml").read_text())
    vocab["conditions"].append({"id": "brand_new_condition", "name": "New"})
    path = tmp_path / "vocabulary.yaml"
    path.write_text(yaml.safe_dump(vocab))
    res = runner.invoke(app, ["kb", "check", "--vocabulary", str(path)])
    assert res.exit_code == 1
    assert "brand_new_condition" in res.output
    res = runner.invoke(app, ["kb", "check", "--vocabulary", str(DATA_DIR / "vocabulary.yaml")])
    assert res.exit_code == 0, res.output


def test_cli_kb_check_bad_option_is_exit_2(tmp_path: Path) -> None:
    res = runner.invoke(app, ["kb", "check", "--vocabulary", str(tmp_path / "missing.yaml")])
    assert res.exit_code == 2


def test_every_finding_a_patient_can_answer_has_a_text_for_their_record() -> None:
    # the symptom check saves a signed-in patient's answers to their record, whose pages name each finding
    # by text, never by id: a history finding outside the vocabulary (pain_midfoot, ...) carries its own
    from hindfoot.patients.codes import finding_texts

    texts = finding_texts()
    history = [f.id for f in load_kb().findings if f.group == "history"]
    assert [f for f in history if not texts.get(f)] == []
    assert texts["pain_midfoot"].startswith("Pain on the top or in the middle of the foot")
