"""Registry aggregates on a small hand-built cohort with known answers."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from factories import login, make_account, make_org, make_patient, make_practitioner
from fastapi.testclient import TestClient
from outcome_helpers import (
    actor_for,
    add_conservative,
    add_rts,
    add_scores,
    add_surgery,
    episode_of,
)

from hindfoot.app import create_app
from hindfoot.outcomes import analytics, disclosure
from hindfoot.outcomes.survival import kaplan_meier

TODAY = date(2027, 6, 1)
S = date(2026, 1, 10)  # everyone's surgery day


@pytest.fixture
def cohort(db):
    """Five operated patients (four dancers, one footballer) and one conservative patient.

    - A: baseline faos.pain 40 -> 6w 55 (+15, reaches MCID 10); pain 8 -> 5 (fall 3 >= 2); returned day 60, previous level
    - B: baseline 50 -> 6w 58 (+8, below MCID); pain 6 -> 5; returned day 90, lower level
    - C: baseline 30 -> 6w 40 (+10 exactly: reaches MCID); not returned, last answer day 70 (censored)
    - D: baseline only (no follow-up): counts in completion's denominator, not in change
    - E (football, other surgeon, complication): baseline 20 -> 6w 35; returned day 120, previous level
    - F (ballet, conservative only since S): no surgery, no questionnaires
    """
    org = make_org(db)
    stone = make_practitioner(db, org, family="Stone")
    reed = make_practitioner(db, org, family="Reed")
    eps = {}
    for key, sport in zip("ABCDEF", ["ballet"] * 4 + ["football", "ballet"], strict=True):
        patient = make_patient(db, org, given=key, family="Dancer", sport=sport)
        eps[key] = episode_of(db, patient)
    for key in "ABCD":
        add_surgery(db, eps[key], S, surgeon_id=stone.id)
    add_surgery(db, eps["E"], S, surgeon_id=reed.id, code="open_excision", complication="sural nerve numbness")
    add_conservative(db, eps["F"], S)
    for key, (b, f, pb, pf) in {"A": (40, 55, 8, 5), "B": (50, 58, 6, 5), "C": (30, 40, 5, 4),
                                "E": (20, 35, 7, 6)}.items():
        add_scores(db, eps[key], "baseline", S - timedelta(days=7), {"faos.pain": b, "pain.nrs": pb})
        add_scores(db, eps[key], "6w", S + timedelta(days=42), {"faos.pain": f, "pain.nrs": pf})
    add_scores(db, eps["D"], "baseline", S - timedelta(days=7), {"faos.pain": 45})
    add_rts(db, eps["A"], S + timedelta(days=42), "not_returned")
    add_rts(db, eps["A"], S + timedelta(days=91), "returned_previous_level", S + timedelta(days=60))
    add_rts(db, eps["B"], S + timedelta(days=91), "returned_lower_level", S + timedelta(days=90))
    add_rts(db, eps["C"], S + timedelta(days=70), "not_returned")
    add_rts(db, eps["E"], S + timedelta(days=130), "returned_higher_level", S + timedelta(days=120))
    clinician = make_account(db, org, "clinician", practitioner=stone)
    db.commit()
    return org, actor_for(clinician), stone, reed, clinician


def test_dashboard_aggregates(db, cohort):
    org, actor, stone, reed, _ = cohort
    d = analytics.dashboard(db, actor, analytics.Filters(), today=TODAY)
    assert (d.episodes, d.patients, d.procedures) == (6, 6, 5)
    completion = {c["timepoint"]: c for c in d.completion}
    assert (completion["baseline"]["due"], completion["baseline"]["completed"]) == (6, 5)
    assert (completion["6w"]["due"], completion["6w"]["completed"]) == (6, 4)  # F's treatment start is the anchor
    assert completion["12m"]["due"] == 6 and completion["12m"]["completed"] == 0
    change = {(c["code"], c["timepoint"]): c for c in d.change}
    faos = change[("faos.pain", "6w")]
    assert faos["n"] == 4 and faos["baseline_mean"] == pytest.approx(35.0)
    assert faos["mean_change"] == pytest.approx((15 + 8 + 10 + 15) / 4)
    assert faos["above_mcid"] == 3  # A, C (exactly 10), E
    pain = change[("pain.nrs", "6w")]
    assert pain["above_mcid"] == 1 and pain["mean_change"] == pytest.approx(-1.5)  # only A fell by >= 2
    km = kaplan_meier([60, 90, 70, 120], [1, 1, 0, 1])
    assert d.rts["km_n"] == 4 and d.rts["km_censored"] == 1  # C is censored, not dropped
    assert d.rts["median_days"] == km.median == 90
    assert (d.rts["answered"], d.rts["returned"], d.rts["returned_previous_level"]) == (4, 3, 2)
    assert d.complications["operations"] == 5 and d.complications["with_complication"] == 1


def test_dashboard_filters(db, cohort):
    org, actor, stone, reed, _ = cohort
    by_sport = analytics.dashboard(db, actor, analytics.Filters(sport="football"), today=TODAY)
    assert by_sport.episodes == 1 and by_sport.change[0]["n"] == 1
    by_surgeon = analytics.dashboard(db, actor, analytics.Filters(surgeon_id=stone.id), today=TODAY)
    assert by_surgeon.episodes == 4 and by_surgeon.complications["with_complication"] == 0
    assert by_surgeon.rts["median_days"] == 90  # 60, 70+ (censored), 90
    by_procedure = analytics.dashboard(db, actor, analytics.Filters(procedure="open_excision"), today=TODAY)
    assert by_procedure.episodes == 1 and by_procedure.rts["km_events"] == 1
    none = analytics.dashboard(db, actor, analytics.Filters(start=date(2030, 1, 1)), today=TODAY)
    assert none.episodes == 0 and none.rts["median_days"] is None
    elsewhere = actor_for(make_account(db, make_org(db, "Elsewhere"), "clinician"))
    assert analytics.dashboard(db, elsewhere, analytics.Filters(), today=TODAY).episodes == 0


@pytest.fixture
def every_row_client(settings, session_factory):
    """Disclosure control off (groups of 1), to check the columns row by row."""
    with TestClient(create_app(settings.model_copy(update={"export_min_group": 1}))) as c:
        yield c


def test_csv_is_deidentified(every_row_client, db, cohort):
    client = every_row_client
    org, actor, stone, reed, clinician = cohort
    login(client, clinician.email)
    r = client.get("/api/outcomes/export.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 6
    header = set(rows[0])
    for banned in ("id", "patient_id", "episode_id", "identifier", "name", "given_name", "family_name", "email",
                   "phone", "birth_date", "surgeon"):
        assert banned not in header
    text = r.text
    for value in ("Dancer", "@example.org", "T-0", "2000-01-01", str(stone.id), "Stone"):
        assert value not in text
    assert {row["age_band"] for row in rows} == {"20-29"}  # born 2000, episodes in 2026
    a_like = next(row for row in rows if row["faos.pain_baseline"] == "40.0")
    assert a_like["faos.pain_6w"] == "55.0" and a_like["rts_status"] == "returned_previous_or_higher"
    assert a_like["days_to_return"] == "60"
    assert client.get("/api/outcomes/dashboard", params={"sport": "football"}).json()["episodes"] == 1
    assert client.get("/outcomes").status_code == 200


def test_csv_generalises_rare_combinations_by_default(client, db, cohort):
    """With the default k = 5, every combination of the quasi-identifiers is shared by five rows or
    more; scores are never changed, and the answer says what was generalised or withheld."""
    org, actor, stone, reed, clinician = cohort
    login(client, clinician.email)
    r = client.get("/api/outcomes/export.csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert r.headers["X-Min-Group-Size"] == "5"
    assert int(r.headers["X-Values-Generalised"]) > 0
    assert len(rows) + int(r.headers["X-Rows-Withheld"]) == 6
    assert disclosure.smallest_group(rows) >= 5 or not rows
    open_rows = list(csv.DictReader(io.StringIO(analytics.export_csv(db, actor, analytics.Filters(), min_group=1).text)))
    score_columns = [c for c in open_rows[0] if "_" in c and c.split("_")[-1] in ("baseline", "6w", "3m", "6m", "12m")]
    kept_scores = sorted(tuple(row[c] for c in score_columns) for row in rows)
    assert set(kept_scores) <= {tuple(row[c] for c in score_columns) for row in open_rows}
    page = client.get("/outcomes").text
    assert "shared by fewer than 5 episodes" in page


def test_patients_cannot_see_the_registry(client, db, cohort):
    org = cohort[0]
    patient = make_patient(db, org, given="Pat")
    account = make_account(db, org, "patient", patient=patient)
    db.commit()
    login(client, account.email)
    assert client.get("/api/outcomes/dashboard").status_code == 403
    assert client.get("/api/outcomes/export.csv").status_code == 403
