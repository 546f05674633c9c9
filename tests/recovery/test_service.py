"""Stored recovery plans: generate (revoking the old one), reach milestones (re-dating what
follows), tick criteria, export iCalendar, and the behind-plan overview."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from icalendar import Calendar
from pathway_helpers import make_clinic
from sqlalchemy import select

from hindfoot.db.models import AuditEvent, CarePlan, CarePlanActivity
from hindfoot.errors import AccessDenied, Conflict, Forbidden, InvalidInput
from hindfoot.recovery import service as recovery_service
from hindfoot.recovery.planner import build_plan

SURGERY = date(2026, 1, 5)
TODAY = date(2026, 3, 1)


def _generate(db, c, **kw):
    args = {"procedure": "posterior_arthroscopic_excision", "start": SURGERY, "today": TODAY} | kw
    return recovery_service.generate_plan(db, c.doc, c.episode.id, **args)


def test_generate_stores_the_planners_dates_with_sport_and_level_from_the_patient(db):
    c = make_clinic(db, stage="post_op")
    cp = _generate(db, c)
    expected = build_plan("posterior_arthroscopic_excision", SURGERY, "ballet", "professional")
    assert (cp.kind, cp.sport, cp.level, cp.status) == ("recovery", "ballet", "professional", "active")
    assert [a.code for a in cp.activities] == [m.id for m in expected.milestones]
    assert [(a.earliest, a.typical, a.latest) for a in cp.activities] == [
        (m.earliest, m.typical, m.latest) for m in expected.milestones]
    assert all(a.criteria_met == [False] * len(a.criteria) for a in cp.activities)
    view = recovery_service.get_plan(db, c.me, cp.id, today=TODAY)
    assert any(m.range_note for m in view.plan.milestones)  # where the clinic pages disagree
    assert view.status.next is not None


def test_a_new_plan_revokes_the_old_one_and_keeps_it(db):
    c = make_clinic(db, stage="post_op")
    conservative = _generate(db, c, procedure="conservative", start=date(2025, 11, 1))
    first = _generate(db, c)
    second = _generate(db, c, sport="running", level="recreational")
    db.flush()
    statuses = dict(db.execute(select(CarePlan.id, CarePlan.status)).all())
    assert statuses == {conservative.id: "completed", first.id: "revoked", second.id: "active"}
    assert first.period_end == TODAY
    with pytest.raises(Conflict):
        recovery_service.set_criterion(db, c.doc, first.id, first.activities[0].code, 0, True)


def test_bad_plan_inputs_name_the_field_and_patients_cannot_generate(db):
    c = make_clinic(db, stage="post_op")
    with pytest.raises(InvalidInput) as err:
        _generate(db, c, sport="quidditch")
    assert err.value.field == "sport"
    with pytest.raises(InvalidInput) as err:
        _generate(db, c, start=TODAY + timedelta(days=400))
    assert err.value.field == "start"
    with pytest.raises((AccessDenied, Forbidden)):
        recovery_service.generate_plan(db, c.me, c.episode.id, procedure="conservative", start=TODAY)


def test_reaching_a_milestone_late_shifts_later_dates_and_undo_restores_them(db):
    c = make_clinic(db, stage="rehabilitation")
    cp = _generate(db, c)
    before = {a.code: (a.earliest, a.typical, a.latest) for a in cp.activities}
    crutches = next(a for a in cp.activities if a.code == "crutches_off")
    late = crutches.latest + timedelta(days=7)
    view = recovery_service.mark_reached(db, c.me, cp.id, "crutches_off", late, today=TODAY)
    after = {a.code: (a.earliest, a.typical, a.latest) for a in cp.activities}
    assert crutches.completed_on == late and crutches.status == "completed"
    moved = [code for code in after if after[code] != before[code]]
    assert moved and "crutches_off" not in moved
    followers = [m for m in view.plan.milestones if "crutches_off" in m.after]
    assert all(after[m.id][1] > before[m.id][1] for m in followers)
    assert view.status.behind and view.status.days_behind > 0

    recovery_service.mark_reached(db, c.doc, cp.id, "crutches_off", None, today=TODAY)
    assert {a.code: (a.earliest, a.typical, a.latest) for a in cp.activities} == before
    assert crutches.completed_on is None


def test_reached_dates_are_checked(db):
    c = make_clinic(db, stage="rehabilitation")
    cp = _generate(db, c)
    with pytest.raises(InvalidInput) as err:
        recovery_service.mark_reached(db, c.doc, cp.id, "crutches_off", TODAY + timedelta(days=1), today=TODAY)
    assert err.value.field == "date"
    with pytest.raises(InvalidInput):
        recovery_service.mark_reached(db, c.doc, cp.id, "crutches_off", SURGERY - timedelta(days=1), today=TODAY)
    with pytest.raises(InvalidInput) as err:
        recovery_service.mark_reached(db, c.doc, cp.id, "no_such_thing", TODAY, today=TODAY)
    assert err.value.field == "milestone"


def test_criteria_ticks_by_the_patient_and_not_by_strangers(db):
    c = make_clinic(db, stage="rehabilitation")
    cp = _generate(db, c)
    code = next(a.code for a in cp.activities if len(a.criteria) >= 2)
    recovery_service.set_criterion(db, c.me, cp.id, code, 1, True)
    db.commit()
    db.expire_all()
    stored = db.scalars(select(CarePlanActivity).where(CarePlanActivity.care_plan_id == cp.id,
                                                       CarePlanActivity.code == code)).one()
    assert stored.criteria_met[:2] == [False, True]
    with pytest.raises(InvalidInput) as err:
        recovery_service.set_criterion(db, c.me, cp.id, code, 99, True)
    assert err.value.field == "index"
    other = make_clinic(db, doctor_email="o@example.org", patient_email="o2@example.org")
    with pytest.raises(AccessDenied):
        recovery_service.set_criterion(db, other.me, cp.id, code, 0, True)
    with pytest.raises(AccessDenied):
        recovery_service.get_plan(db, other.doc, cp.id)


def test_calendar_parses_and_uses_the_stored_dates(db):
    c = make_clinic(db, stage="rehabilitation")
    cp = _generate(db, c)
    recovery_service.mark_reached(db, c.doc, cp.id, "crutches_off", date(2026, 1, 30), today=TODAY)
    data, filename = recovery_service.calendar(db, c.me, cp.id)
    assert filename.endswith(".ics")
    events = Calendar.from_ical(data).walk("VEVENT")
    assert len(events) == len(cp.activities)
    starts = {str(e["uid"]).split("-", 5)[-1].split("@")[0]: e.decoded("dtstart") for e in events}
    for a in cp.activities:
        assert starts[a.code] == a.typical
    assert all(str(e["uid"]).startswith(str(c.episode.id)) for e in events)


def test_behind_plan_lists_only_patients_behind_worst_first(db):
    c = make_clinic(db, stage="rehabilitation")
    on_track = _generate(db, c, start=TODAY - timedelta(days=3))
    # a second patient of the same clinic, well behind: nothing reached 60 days after surgery
    from factories import make_patient

    from hindfoot.db.models import EpisodeOfCare

    slow = make_patient(db, c.org, "Slow", "Coach", stage="rehabilitation")
    ep = db.scalars(select(EpisodeOfCare).where(EpisodeOfCare.patient_id == slow.id)).one()
    behind = recovery_service.generate_plan(db, c.doc, ep.id, procedure="posterior_arthroscopic_excision",
                                            start=TODAY - timedelta(days=60), today=TODAY)
    rows = recovery_service.behind_plan(db, c.doc, today=TODAY)
    assert [r.care_plan.id for r in rows] == [behind.id]
    assert rows[0].status.days_behind > 0 and rows[0].overdue_titles
    assert on_track.id not in {r.care_plan.id for r in rows}
    assert db.scalars(select(AuditEvent).where(AuditEvent.description.like("behind-plan overview%"))).first()
    with pytest.raises(Forbidden):
        recovery_service.behind_plan(db, c.me, today=TODAY)


def test_plans_the_planner_cannot_rebuild_are_read_from_stored_dates(db):
    c = make_clinic(db, stage="conservative_care")
    cp = CarePlan(patient_id=c.patient.id, episode_id=c.episode.id, title="Conservative care", kind="conservative",
                  sport="ballet", level="professional", status="active", period_start=date(2026, 1, 1))
    cp.activities = [
        CarePlanActivity(position=0, code="relative_rest", title="Rest", category="settle", status="completed",
                         earliest=date(2026, 1, 1), typical=date(2026, 1, 8), latest=date(2026, 1, 15),
                         completed_on=date(2026, 1, 8), criteria=["Pain ≤2/10"], criteria_met=[True]),
        CarePlanActivity(position=1, code="review", title="Review", category="review", status="not-started",
                         earliest=date(2026, 2, 1), typical=date(2026, 2, 10), latest=date(2026, 2, 20)),
        CarePlanActivity(position=2, code="strapping", title="Strap", category="settle", status="cancelled"),
    ]
    db.add(cp)
    db.flush()
    view = recovery_service.get_plan(db, c.doc, cp.id, today=TODAY)
    assert [m.id for m in view.plan.milestones] == ["relative_rest", "review"]
    assert view.status.overdue == ("review",) and view.status.days_behind == (TODAY - date(2026, 2, 20)).days
    view = recovery_service.mark_reached(db, c.doc, cp.id, "review", TODAY, today=TODAY)
    assert not view.status.behind
    data, _ = recovery_service.calendar(db, c.doc, cp.id)
    assert len(Calendar.from_ical(data).walk("VEVENT")) == 2
