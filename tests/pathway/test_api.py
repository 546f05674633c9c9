"""Pathway and recovery-plan API: reasons on refusal (409), append-only events, audit, plans."""

from __future__ import annotations

from datetime import date, timedelta

from factories import login
from icalendar import Calendar
from pathway_helpers import make_clinic
from sqlalchemy import select

from hindfoot.db.models import AuditEvent, PathwayEvent


def test_pathway_read_shows_stage_options_next_steps_and_sources(client, db):
    c = make_clinic(db, stage="assessment")
    db.commit()
    login(client, "doc@example.org")
    body = client.get(f"/api/episodes/{c.episode.id}/pathway").json()
    assert body["stage"] == "assessment"
    listing = next(o for o in body["options"] if o["to"] == "surgical_listing")
    assert not listing["allowed"] and listing["blocked_reasons"]
    xray = next(s for s in body["next_steps"] if s["id"] == "order_lateral_xray")
    assert {s["key"] for s in xray["sources"]} == {"S0", "S1"}
    assert all(s["label"] for s in xray["sources"])
    assert body["facts"]["assessment_recorded"] is True


def test_refused_transition_is_409_with_reasons_and_stores_nothing(client, db):
    c = make_clinic(db)
    db.commit()
    login(client, "doc@example.org")
    r = client.post(f"/api/episodes/{c.episode.id}/transitions", json={"to": "surgical_listing"})
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["error"] == "transition_refused" and len(body["reasons"]) == 2
    assert client.post(f"/api/episodes/{c.episode.id}/transitions", json={"to": "moon"}).status_code == 422
    assert client.post(f"/api/episodes/{c.episode.id}/transitions",
                       json={"to": "discharged", "reason": "x", "extra": 1}).status_code == 422
    db.expire_all()
    assert db.scalars(select(PathwayEvent)).all() == []
    refused = db.scalars(select(AuditEvent).where(AuditEvent.entity_type == "EpisodeOfCare",
                                                  AuditEvent.outcome == "4")).all()  # the attempt is on the record
    assert len(refused) == 1 and refused[0].entity_id == str(c.episode.id)
    assert refused[0].patient_id == c.patient.id and refused[0].user_email == "doc@example.org"
    assert refused[0].description.startswith("pathway conservative_care -> surgical_listing refused: ")


def test_full_move_to_surgery_appends_events_and_audits_each_write(client, db):
    c = make_clinic(db)
    db.commit()
    login(client, "doc@example.org")
    ep = c.episode.id
    assert client.post(f"/api/episodes/{ep}/diagnosis/confirm", json={}).status_code == 200
    assert client.post(f"/api/episodes/{ep}/documentation",
                       json={"kind": "conservative_care_failed", "note": "12 weeks"}).status_code == 201
    r = client.post(f"/api/episodes/{ep}/transitions",
                    json={"to": "surgical_listing", "reason": "MDT agreed", "expected_stage": "conservative_care"})
    assert r.status_code == 201, r.text
    assert r.json()["to_stage"] == "surgical_listing"
    stale = client.post(f"/api/episodes/{ep}/transitions",
                        json={"to": "surgery", "expected_stage": "conservative_care"})
    assert stale.status_code == 409
    assert client.post(f"/api/episodes/{ep}/consent", json={"note": "leaflet given"}).status_code == 201
    assert client.post(f"/api/episodes/{ep}/transitions", json={"to": "surgery"}).status_code == 201
    assert client.post(f"/api/episodes/{ep}/procedures", json={
        "code": "posterior_arthroscopic_excision", "performed_on": date.today().isoformat()}).status_code == 201
    assert client.post(f"/api/episodes/{ep}/transitions", json={"to": "post_op"}).status_code == 201

    body = client.get(f"/api/episodes/{ep}/pathway").json()
    assert body["stage"] == "post_op"
    assert [(e["from_stage"], e["to_stage"]) for e in body["events"]] == [
        ("conservative_care", "surgical_listing"), ("surgical_listing", "surgery"), ("surgery", "post_op")]
    first = body["events"][0]
    # append-only: a later move never rewrites an earlier event
    assert "MDT agreed" in first["reason"] and first["recorded_by_id"] == str(c.doctor.id)
    db.expire_all()
    audits = db.scalars(select(AuditEvent.description).where(AuditEvent.patient_id == c.patient.id)).all()
    for needle in ("diagnosis posterior_ankle_impingement confirmed", "conservative_care_failed documented",
                   "surgical consent recorded", "pathway surgery -> post_op", "pathway viewed"):
        assert any(needle in a for a in audits), needle


def test_patient_cannot_move_the_pathway_and_the_attempt_is_audited(client, db):
    c = make_clinic(db)
    db.commit()
    login(client, "pat@example.org")
    assert client.get(f"/api/episodes/{c.episode.id}/pathway").status_code == 200
    r = client.post(f"/api/episodes/{c.episode.id}/transitions", json={"to": "discharged", "reason": "bored"})
    assert r.status_code == 404
    assert client.post(f"/api/episodes/{c.episode.id}/consent", json={}).status_code == 404
    db.expire_all()
    denied = db.scalars(select(AuditEvent).where(AuditEvent.outcome == "4")).all()
    assert len(denied) == 2


def test_recovery_plan_api_generate_progress_calendar_and_behind(client, db):
    c = make_clinic(db, stage="rehabilitation")
    db.commit()
    login(client, "doc@example.org")
    start = date.today() - timedelta(days=40)
    r = client.post(f"/api/episodes/{c.episode.id}/care-plans",
                    json={"procedure": "posterior_arthroscopic_excision", "start": start.isoformat()})
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["sport"] == "ballet" and plan["level"] == "professional" and plan["start"] == start.isoformat()
    m = next(x for x in plan["milestones"] if x["code"] == "crutches_off")
    assert m["range_note"] and m["sources"] and m["criteria"]
    bad = client.post(f"/api/episodes/{c.episode.id}/care-plans", json={"procedure": "amputation",
                                                                          "start": start.isoformat()})
    assert bad.status_code == 422 and bad.json()["field"] == "procedure"

    behind = client.get("/api/recovery/behind").json()
    assert [b["care_plan_id"] for b in behind] == [plan["id"]] and behind[0]["days_behind"] > 0

    client.cookies.clear()
    client.headers.pop("X-CSRF-Token")
    login(client, "pat@example.org")
    pid = plan["id"]
    r = client.put(f"/api/care-plans/{pid}/milestones/crutches_off/criteria/0", json={"met": True})
    assert r.status_code == 200, r.text
    crit = next(x for x in r.json()["milestones"] if x["code"] == "crutches_off")["criteria"][0]
    assert crit["met"] is True
    reached = (start + timedelta(days=20)).isoformat()
    r = client.post(f"/api/care-plans/{pid}/milestones/crutches_off/reached", json={"date": reached})
    assert r.status_code == 200, r.text
    got = next(x for x in r.json()["milestones"] if x["code"] == "crutches_off")
    assert got["completed_on"] == reached and got["status"] == "completed"
    future = client.post(f"/api/care-plans/{pid}/milestones/crutches_off/reached",
                         json={"date": (date.today() + timedelta(days=3)).isoformat()})
    assert future.status_code == 422 and future.json()["field"] == "date"
    assert client.delete(f"/api/care-plans/{pid}/milestones/crutches_off/reached").status_code == 200

    ics = client.get(f"/api/care-plans/{pid}/calendar.ics")
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    assert "attachment" in ics.headers["content-disposition"]
    assert len(Calendar.from_ical(ics.content).walk("VEVENT")) == len(plan["milestones"])
    assert client.get("/api/recovery/behind").status_code == 403
    assert client.post(f"/api/episodes/{c.episode.id}/care-plans",
                       json={"procedure": "conservative", "start": start.isoformat()}).status_code == 404


def test_stranger_cannot_read_a_plan(client, db):
    c = make_clinic(db, stage="rehabilitation")
    make_clinic(db, doctor_email="other@example.org", patient_email="p2@example.org")
    db.commit()
    login(client, "doc@example.org")
    pid = client.post(f"/api/episodes/{c.episode.id}/care-plans",
                      json={"procedure": "conservative", "start": date.today().isoformat()}).json()["id"]
    client.cookies.clear()
    login(client, "other@example.org")
    assert client.get(f"/api/care-plans/{pid}").status_code == 404
    assert client.get(f"/api/care-plans/{pid}/calendar.ics").status_code == 404
