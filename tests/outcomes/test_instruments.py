"""The shipped Questionnaires are valid FHIR (R4B model), carry exactly the agreed item ids,
agree with the scoring constants, and a clinic's own file is checked before it is accepted."""

from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire

from hindfoot.outcomes.instruments import (
    INSTRUMENT_CODES,
    PARAPHRASED_EXTENSION,
    InstrumentError,
    load_instrument,
    load_questionnaire_file,
)
from hindfoot.outcomes.scoring import FAAM_GLOBAL_ITEMS, FAAM_SUBSCALES, FAOS_SUBSCALES, PAIN_ITEM

EXPECTED_SECTIONS = {
    "faos": {
        "symptoms": [f"S{i}" for i in range(1, 8)],
        "pain": [f"P{i}" for i in range(1, 10)],
        "adl": [f"A{i}" for i in range(1, 18)],
        "sport_rec": [f"SP{i}" for i in range(1, 6)],
        "qol": [f"Q{i}" for i in range(1, 5)],
    },
    "faam": {
        "adl": [f"ADL{i}" for i in range(1, 22)] + ["ADL_GLOBAL"],
        "sports": [f"SPORTS{i}" for i in range(1, 9)] + ["SPORTS_GLOBAL"],
    },
    "pain": {"pain": ["PAIN"]},
    "rts": {"rts": ["RTS_STATUS", "RTS_DATE"]},
}


def raw(code: str) -> dict[str, Any]:
    text = (
        resources.files("hindfoot.outcomes.instruments").joinpath(f"{code}.json").read_text("utf-8")
    )
    return json.loads(text)


@pytest.mark.parametrize("code", INSTRUMENT_CODES)
def test_questionnaire_validates_with_r4b_model(code):
    q = Questionnaire.model_validate(raw(code))
    assert q.status == "active"
    assert q.url and q.name and q.title and q.version
    assert "paraphrased" in (q.description or "")
    assert any(e.url == PARAPHRASED_EXTENSION and e.valueBoolean for e in q.extension or [])
    assert all(item.type == "group" for item in q.item or [])


@pytest.mark.parametrize("code", INSTRUMENT_CODES)
def test_sections_and_item_ids_exact(code):
    inst = load_instrument(code)
    assert {s.id: list(s.item_ids) for s in inst.sections} == EXPECTED_SECTIONS[code]
    assert list(inst.item_ids) == [i for ids in EXPECTED_SECTIONS[code].values() for i in ids]
    assert inst.paraphrased


def test_item_ids_agree_with_scoring_constants():
    faos = load_instrument("faos")
    assert {s.id: s.item_ids for s in faos.sections} == FAOS_SUBSCALES
    faam = load_instrument("faam")
    for sub, ids in FAAM_SUBSCALES.items():
        assert faam.sections[list(FAAM_SUBSCALES).index(sub)].item_ids == (
            *ids,
            FAAM_GLOBAL_ITEMS[sub],
        )
    assert load_instrument("pain").item_ids == (PAIN_ITEM,)


def test_allowed_values():
    for item in load_instrument("faos").items:
        assert item.kind == "choice" and item.allowed_values == (0, 1, 2, 3, 4)
    for item in load_instrument("faam").items:
        if item.id.endswith("_GLOBAL"):
            assert (item.kind, item.min_value, item.max_value) == ("integer", 0, 100)
        else:
            assert item.allowed_values == (0, 1, 2, 3, 4, "na")
    assert load_instrument("pain").item("PAIN").allowed_values == tuple(range(11))
    status = load_instrument("rts").item("RTS_STATUS")
    assert status.allowed_values == (
        "not_returned",
        "returned_lower_level",
        "returned_previous_level",
        "returned_higher_level",
    )
    assert load_instrument("rts").item("RTS_DATE").enable_when == (
        ("RTS_STATUS", "!=", "not_returned"),
    )


def test_pain_is_coded_with_loinc():
    q = raw("pain")
    codes = q["code"] + q["item"][0]["item"][0]["code"]
    assert [(c["system"], c["code"]) for c in codes] == [("http://loinc.org", "72514-3")] * 2


def test_unknown_instrument():
    with pytest.raises(InstrumentError, match="unknown instrument 'koos'"):
        load_instrument("koos")


# ------------------------------------------------- a clinic's own (licensed wording) file


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "q.json"
    path.write_text(json.dumps(data))
    return path


def test_clinic_file_with_own_wording_is_accepted(tmp_path):
    data = raw("faos")
    data["extension"] = []
    for group in data["item"]:
        for item in group["item"]:
            item["text"] = f"Licensed wording of {item['linkId']}"
    # an instruction item is allowed and skipped
    data["item"][0]["item"].insert(
        0, {"linkId": "intro", "type": "display", "text": "Instructions"}
    )
    inst = load_questionnaire_file(write(tmp_path, data))
    assert inst.code == "faos" and not inst.paraphrased
    assert inst.item("S1").text == "Licensed wording of S1"
    assert inst.item_ids == load_instrument("faos").item_ids


def test_clinic_file_with_other_ids_is_refused(tmp_path):
    data = raw("faam")
    data["item"][0]["item"][0]["linkId"] = "ADL1a"
    with pytest.raises(InstrumentError, match="missing item ids ADL1; unknown item ids ADL1a"):
        load_questionnaire_file(write(tmp_path, data), "faam")
    with pytest.raises(InstrumentError, match="match none of"):
        load_questionnaire_file(write(tmp_path, data))


def test_clinic_file_with_other_answer_codes_is_refused(tmp_path):
    data = copy.deepcopy(raw("faos"))
    data["item"][1]["item"][0]["answerOption"][0]["valueCoding"]["code"] = "none"
    with pytest.raises(InstrumentError, match="item P1 answer codes differ"):
        load_questionnaire_file(write(tmp_path, data))


def test_clinic_file_with_items_moved_between_sections_is_refused(tmp_path):
    data = raw("faos")
    data["item"][1]["item"].append(data["item"][0]["item"].pop())  # S7 into the pain page
    with pytest.raises(InstrumentError, match="sections differ"):
        load_questionnaire_file(write(tmp_path, data), "faos")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"resourceType": "Patient"}', "not a FHIR Questionnaire"),
        (
            '{"resourceType": "Questionnaire", "item": [{"linkId": "S1", "type": "choice"}]}',
            "must be a group",
        ),
    ],
)
def test_malformed_clinic_file(tmp_path, content, message):
    path = tmp_path / "q.json"
    path.write_text(content)
    with pytest.raises(InstrumentError, match=message):
        load_questionnaire_file(path, "faos")


def test_missing_clinic_file(tmp_path):
    with pytest.raises(InstrumentError, match="cannot read file"):
        load_questionnaire_file(tmp_path / "absent.json", "faos")


def test_rts_statuses_agree_with_questionnaire():
    from hindfoot.outcomes.scoring import RTS_STATUSES

    assert load_instrument("rts").item("RTS_STATUS").allowed_values == RTS_STATUSES
