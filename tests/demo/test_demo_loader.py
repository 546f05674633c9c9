"""The demo clinic: complete, consistent, idempotent, fast, on SQLite and on PostgreSQL."""

from __future__ import annotations

import itertools
import time
import uuid
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml
from pg import create_migrated_postgres_database, drop_postgres_database
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from hindfoot.db.base import Base
from hindfoot.db.engine import make_engine, make_sessionmaker
from hindfoot.db.migrate import upgrade
from hindfoot.db.models import (
    Appointment,
    CarePlan,
    CarePlanActivity,
    Condition,
    Encounter,
    EpisodeOfCare,
    Location,
    Observation,
    Organization,
    PathwayEvent,
    PathwayStage,
    Patient,
    Practitioner,
    Procedure,
    QuestionnaireResponse,
    UserAccount,
)
from hindfoot.db.session import unit_of_work
from hindfoot.demo import DEMO_PASSWORD, demo_accounts
from hindfoot.demo.loader import load_demo

TODAY = date(2026, 3, 18)
SHARED_VOCAB = Path("/work/shared/clinical/vocabulary.yaml")
PACKAGED_VOCAB = Path(__file__).resolve().parents[2] / "src/hindfoot/knowledge/data/vocabulary.yaml"
SCORE_CODES = {"faos.symptoms", "faos.pain", "faos.adl", "faos.sport_rec", "faos.qol",
               "faam.adl", "faam.sports", "pain.nrs"}
SURGICAL = {"posterior_arthroscopic_excision", "posterior_arthroscopic_debridement", "open_excision"}


def _vocabulary() -> dict:
    path = SHARED_VOCAB if SHARED_VOCAB.exists() else PACKAGED_VOCAB
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _all_counts(session: Session) -> dict[str, int]:
    return {m.class_.__name__: _count(session, m.class_) for m in Base.registry.mappers}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory):
    url = "sqlite:///" + str(tmp_path_factory.mktemp("demo") / "x.db")
    upgrade(url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    started = time.perf_counter()
    with unit_of_work(factory) as session:
        summary = load_demo(session, TODAY)
    elapsed = time.perf_counter() - started
    yield factory, summary, elapsed
    engine.dispose()


@pytest.fixture
def db(loaded):
    factory, _, _ = loaded
    with factory() as session:
        yield session


def test_summary_and_speed(loaded):
    _, summary, elapsed = loaded
    assert summary.created is True
    assert summary.patients >= 40
    assert set(summary.stage_counts) == {s.value for s in PathwayStage}
    assert all(n >= 3 for n in summary.stage_counts.values()), summary.stage_counts
    assert elapsed < 10, f"demo load took {elapsed:.1f}s"


def test_clinic_cast(db):
    org = db.scalars(select(Organization).where(Organization.is_demo)).one()
    assert org.name == "Hindfoot Demo Clinic"
    assert "Moyes" not in org.name and "Capital" not in org.name
    locations = db.scalars(select(Location).where(Location.organization_id == org.id)).all()
    assert len(locations) >= 3 and all(loc.address_line and loc.postcode and loc.phone for loc in locations)
    practitioners = db.scalars(select(Practitioner)).all()
    assert len(practitioners) >= 7
    roles = [p.role for p in practitioners]
    assert roles.count("surgeon") >= 2 and roles.count("physiotherapist") >= 2
    assert {"sports_physician", "nurse", "radiologist", "admin"} <= set(roles)
    assert not any("Moyes" in p.family_name for p in practitioners)


def test_every_role_has_an_account(db):
    accounts = db.scalars(select(UserAccount)).all()
    assert {a.role for a in accounts} == {"admin", "clinician", "patient", "receptionist", "manager"}
    clinical = db.scalars(select(Practitioner).where(
        Practitioner.role.not_in(("admin", "receptionist", "manager")))).all()
    with_account = {a.practitioner_id for a in accounts if a.role == "clinician"}
    assert {p.id for p in clinical} <= with_account
    hashes = {a.password_hash for a in accounts}
    assert len(hashes) == 1  # hashed once, shared
    from hindfoot.auth.passwords import verify_password

    assert verify_password(hashes.pop(), DEMO_PASSWORD)
    shown = demo_accounts(db)
    emails = [e for _, e, _, _ in shown]
    assert emails == [f"{x}@demo.hindfoot.local" for x in ("admin", "reception", "manager", "surgeon", "physio", "nurse", "patient")]
    desk = next(a for a in accounts if a.email == "reception@demo.hindfoot.local")
    assert desk.role == "receptionist" and desk.practitioner_id is not None
    patient_account = next(a for a in accounts if a.email == "patient@demo.hindfoot.local")
    episode = db.scalars(select(EpisodeOfCare).where(EpisodeOfCare.patient_id == patient_account.patient_id)).one()
    assert episode.stage in ("post_op", "rehabilitation")
    assert _count_for(db, Encounter, episode.patient_id) >= 15
    assert _count_for(db, QuestionnaireResponse, episode.patient_id) >= 6


def _count_for(db: Session, model: type, patient_id: uuid.UUID) -> int:
    return db.scalar(select(func.count()).select_from(model).where(model.patient_id == patient_id)) or 0


def test_codes_are_vocabulary_ids(db):
    vocab = _vocabulary()
    groups = {f["id"]: g for g, items in vocab["findings"].items() for f in items}
    conditions = {c["id"] for c in vocab["conditions"]}
    for obs in db.scalars(select(Observation)).all():
        if obs.category == "score":
            assert obs.code in SCORE_CODES
            assert obs.value_quantity is not None
            high = 10 if obs.code == "pain.nrs" else 100
            assert 0 <= obs.value_quantity <= high, (obs.code, obs.value_quantity)
        elif obs.code == "surgical_consent":  # clinician documentation the pathway reads (pathway/service.py)
            assert obs.category == "measurement" and obs.value_boolean is True
        elif obs.code.startswith("rts."):
            assert obs.value_string
            if obs.code == "rts.status":
                assert obs.value_string in ("not_returned", "returned_lower_level",
                                            "returned_previous_level", "returned_higher_level")
        else:
            assert groups.get(obs.code) == obs.category, obs.code
            assert obs.value_boolean is not None
    for cond in db.scalars(select(Condition)).all():
        assert cond.code in conditions and cond.snomed_code and cond.icd10_code
    for ep in db.scalars(select(EpisodeOfCare)).all():
        assert ep.condition_code in conditions
        assert ep.laterality in ("left", "right", "bilateral")
    assert set(vocab["sports"]) >= {p.sport for p in db.scalars(select(Patient)).all()}


def test_scores_in_range_and_improve_after_surgery(db):
    for qr in db.scalars(select(QuestionnaireResponse)).all():
        for key, value in qr.scores.items():
            assert 0 <= value <= 100, (key, value)
    # a discharged surgical patient: FAOS pain better at 6 months than at baseline
    improved = 0
    for ep in db.scalars(select(EpisodeOfCare).where(EpisodeOfCare.stage == "discharged")).all():
        values = dict(db.execute(
            select(QuestionnaireResponse.timepoint, Observation.value_quantity)
            .join(Observation, Observation.questionnaire_response_id == QuestionnaireResponse.id)
            .where(QuestionnaireResponse.episode_id == ep.id, Observation.code == "faos.pain")
        ).all())
        if "baseline" in values and "6m" in values:
            assert values["6m"] > values["baseline"] + 10
            improved += 1
    assert improved >= 3


def test_post_op_patients_have_procedures_and_recovery_plans(db):
    episodes = db.scalars(select(EpisodeOfCare).where(
        EpisodeOfCare.stage.in_(["post_op", "rehabilitation", "returned_to_sport", "discharged"]))).all()
    operated = 0
    for ep in episodes:
        procs = db.scalars(select(Procedure).where(Procedure.episode_id == ep.id, Procedure.code.in_(SURGICAL))).all()
        if ep.stage in ("post_op", "rehabilitation"):
            assert procs, ep.title
        if not procs:
            continue
        operated += 1
        assert procs[0].status == "completed" and procs[0].performed_at is not None
        plan = db.scalars(select(CarePlan).where(CarePlan.episode_id == ep.id, CarePlan.kind == "recovery")).one()
        codes = set(db.scalars(select(CarePlanActivity.code).where(CarePlanActivity.care_plan_id == plan.id)))
        assert {"crutches_off", "cycling_swimming", "sport_specific_rehab", "full_performance"} <= codes
        rts = db.scalars(select(Observation).where(Observation.episode_id == ep.id, Observation.code == "rts.status")).all()
        assert rts
        nurse_visits = db.scalar(select(func.count()).select_from(Encounter).where(
            Encounter.episode_id == ep.id, Encounter.type == "nurse_dressing"))
        assert nurse_visits >= 1
    assert operated >= 12
    complications = db.scalars(select(Procedure).where(Procedure.complication.is_not(None))).all()
    assert 1 <= len(complications) <= 3
    assert db.scalar(select(func.count()).select_from(Procedure).where(Procedure.code == "open_excision")) >= 2
    assert db.scalar(select(func.count()).select_from(Procedure).where(Procedure.code == "image_guided_injection")) >= 5


def test_pathway_events_follow_the_stage(db):
    order = [s.value for s in PathwayStage]
    for ep in db.scalars(select(EpisodeOfCare)).all():
        events = db.scalars(select(PathwayEvent).where(PathwayEvent.episode_id == ep.id)
                            .order_by(PathwayEvent.recorded_at)).all()
        assert events[0].from_stage is None and events[0].to_stage == "enquiry"
        assert events[-1].to_stage == ep.stage
        for a, b in itertools.pairwise(events):
            assert b.from_stage == a.to_stage
            assert order.index(b.to_stage) > order.index(a.to_stage)
        assert all(e.reason for e in events)


def test_dates_are_aware_and_consistent(db):
    today_end = datetime(TODAY.year, TODAY.month, TODAY.day, 23, 59).astimezone()
    for model in [m.class_ for m in Base.registry.mappers]:
        columns = [c.key for c in inspect(model).column_attrs
                   if getattr(c.expression.type, "python_type", None) is datetime
                   or type(c.expression.type).__name__ == "UTCDateTime"]
        for row in db.scalars(select(model)).all():
            for col in columns:
                value = getattr(row, col)
                assert value is None or value.tzinfo is not None, (model.__name__, col)
    for enc in db.scalars(select(Encounter)).all():
        assert enc.start <= today_end
    statuses = {}
    for appt in db.scalars(select(Appointment)).all():
        statuses[appt.status] = statuses.get(appt.status, 0) + 1
        if appt.status == "booked":
            assert appt.start.date() > TODAY
        if appt.status in ("fulfilled", "noshow"):
            assert appt.start <= today_end
    assert statuses.get("booked", 0) >= 10 and statuses.get("fulfilled", 0) >= 50
    assert statuses.get("noshow") == 1 and statuses.get("cancelled") == 1


def test_second_load_changes_nothing(loaded):
    factory, _, _ = loaded
    with factory() as session:
        before = _all_counts(session)
    with unit_of_work(factory) as session:
        summary = load_demo(session, date(2026, 4, 1))
    assert summary.created is False and summary.patients == before["Patient"]
    with factory() as session:
        assert _all_counts(session) == before


def test_reproducible(tmp_path):
    def snapshot(url: str):
        upgrade(url)
        engine = make_engine(url)
        try:
            with unit_of_work(make_sessionmaker(engine)) as session:
                load_demo(session, TODAY)
            with make_sessionmaker(engine)() as session:
                return sorted((p.identifier, p.given_name, p.family_name, p.birth_date)
                              for p in session.scalars(select(Patient))), sorted(
                    (e.start, e.type) for e in session.scalars(select(Encounter)))
        finally:
            engine.dispose()

    assert snapshot(f"sqlite:///{tmp_path / 'a.db'}") == snapshot(f"sqlite:///{tmp_path / 'b.db'}")


def test_demo_accounts_empty_without_demo(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    upgrade(url)
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        assert demo_accounts(session) == []
    engine.dispose()


@pytest.mark.postgres
def test_loads_on_postgresql():
    url = create_migrated_postgres_database("hf_demo")
    try:
        engine = make_engine(url)
        try:
            factory = make_sessionmaker(engine)
            with unit_of_work(factory) as session:
                summary = load_demo(session, TODAY)
            assert summary.created and summary.patients >= 40
            assert all(n >= 3 for n in summary.stage_counts.values())
            with factory() as session:
                before = _all_counts(session)
                assert len(demo_accounts(session)) == 7
            with unit_of_work(factory) as session:
                assert load_demo(session, TODAY).created is False
            with factory() as session:
                assert _all_counts(session) == before
        finally:
            engine.dispose()
    finally:
        drop_postgres_database(url)


@pytest.mark.parametrize("today", [date(2026, 11, 21), date(2026, 11, 22), date(2027, 1, 4)])  # Sat, Sun, Mon
def test_any_day_gives_a_consistent_clinic(tmp_path, today):
    url = f"sqlite:///{tmp_path / 'd.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            summary = load_demo(session, today)
        assert all(n >= 3 for n in summary.stage_counts.values()), summary.stage_counts
        with make_sessionmaker(engine)() as session:
            for appt in session.scalars(select(Appointment).where(Appointment.status == "booked")):
                assert appt.start.date() > today
            for ep in session.scalars(select(EpisodeOfCare)).all():
                last = session.scalars(select(PathwayEvent).where(PathwayEvent.episode_id == ep.id)
                                       .order_by(PathwayEvent.recorded_at.desc()).limit(1)).one()
                assert last.to_stage == ep.stage and last.recorded_at.date() <= today
    finally:
        engine.dispose()
