"""Pathway panel and plan pages over HTTP: htmx fragments, no-JavaScript fallbacks, access."""

from __future__ import annotations

from datetime import date, timedelta

from factories import login
from pathway_helpers import make_clinic
from sqlalchemy import select

from hindfoot.db.models import AuditEvent

HX = {"hx-request": "true"}


def _csrf(client) -> dict[str, str]:
    return {"csrf_token": client.headers["X-CSRF-Token"]}


def test_record_page_loads_the_panel_and_the_panel_shows_blocked_reasons(client, db):
    c = make_clinic(db)
    db.commit()
    login(client, "doc@example.org")
    record = client.get(f"/patients/{c.patient.id}")
    assert f'hx-get="/episodes/{c.episode.id}/pathway"' in record.text
    panel = client.get(f"/episodes/{c.episode.id}/pathway", headers=HX)
    assert panel.status_code == 200 and "<html" not in panel.text
    assert "What comes next, and why" in panel.text
    assert "Blocked: the diagnosis is not confirmed" in panel.text
    full = client.get(f"/episodes/{c.episode.id}/pathway")
    assert "<html" in full.text and "Care pathway" in full.text


def test_refused_move_comes_back_in_the_panel_or_as_a_409_page(client, db):
    c = make_clinic(db)
    db.commit()
    login(client, "doc@example.org")
    form = _csrf(client) | {"to": "surgery", "expected_stage": "conservative_care"}
    hx = client.post(f"/episodes/{c.episode.id}/pathway/transition", data=form, headers=HX)
    assert hx.status_code == 200 and 'role="alert"' in hx.text and "no direct route" in hx.text
    plain = client.post(f"/episodes/{c.episode.id}/pathway/transition", data=form, follow_redirects=False)
    assert plain.status_code == 409 and "no direct route" in plain.text
    db.expire_all()
    refused = db.scalars(select(AuditEvent).where(AuditEvent.outcome == "4")).all()
    assert [e.description for e in refused] == [
        "pathway conservative_care -> surgery refused: there is no direct route from conservative_care to surgery"] * 2
    assert {e.patient_id for e in refused} == {c.patient.id}


def test_forms_without_javascript_redirect_back_to_the_record(client, db):
    c = make_clinic(db)
    db.commit()
    login(client, "doc@example.org")
    r = client.post(f"/episodes/{c.episode.id}/pathway/confirm-diagnosis", data=_csrf(client), follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/patients/{c.patient.id}")
    r = client.post(f"/episodes/{c.episode.id}/pathway/consent", data=_csrf(client), headers=HX)
    assert "Consent for surgery recorded" in r.text
    start = (date.today() - timedelta(days=10)).isoformat()
    r = client.post(f"/episodes/{c.episode.id}/care-plans", headers=HX,
                    data=_csrf(client) | {"procedure": "conservative", "start": start})
    assert r.status_code == 204 and r.headers["HX-Redirect"].startswith("/care-plans/")
    page = client.get(r.headers["HX-Redirect"])
    assert page.status_code == 200 and "Add to calendar (.ics)" in page.text and 'class="today-marker"' in page.text


def test_patient_plan_page_ticks_and_reaches_and_staff_see_behind(client, db):
    c = make_clinic(db, stage="rehabilitation")
    db.commit()
    login(client, "doc@example.org")
    start = (date.today() - timedelta(days=60)).isoformat()
    r = client.post(f"/episodes/{c.episode.id}/care-plans", follow_redirects=False,
                    data=_csrf(client) | {"procedure": "posterior_arthroscopic_excision", "start": start})
    plan_url = r.headers["location"]
    behind = client.get("/recovery/behind")
    assert c.patient.display_name in behind.text and "days-behind" in behind.text

    client.cookies.clear()
    login(client, "pat@example.org")
    mine = client.get("/my/recovery-plan", follow_redirects=False)
    assert mine.headers["location"] == plan_url
    tick = client.post(f"{plan_url}/milestones/crutches_off/criteria/0", data=_csrf(client) | {"met": "true"},
                       headers=HX)
    assert tick.status_code == 200 and "1 of" in tick.text
    reached = client.post(f"{plan_url}/milestones/crutches_off/reached", headers=HX,
                          data=_csrf(client) | {"on": date.today().isoformat()})
    assert "Later dates updated" in reached.text and 'id="plan-timeline"' in reached.text
    future = client.post(f"{plan_url}/milestones/wound_check/reached", headers=HX,
                         data=_csrf(client) | {"on": (date.today() + timedelta(days=2)).isoformat()})
    assert future.status_code == 200 and "cannot be reached in the future" in future.text
    # the refusal is by the milestone's own date field, what was typed kept
    assert 'id="reached-wound_check-error"' in future.text and 'aria-invalid="true"' in future.text
    assert f'value="{(date.today() + timedelta(days=2)).isoformat()}"' in future.text
    unreadable = client.post(f"{plan_url}/milestones/wound_check/reached", headers=HX,
                             data=_csrf(client) | {"on": "31/02/2026"})
    assert "Reached on: enter a real date" in unreadable.text and 'value="31/02/2026"' in unreadable.text
    old = client.post(f"{plan_url}/milestones/wound_check/reached", data=_csrf(client) | {"on": "1899-05-01"})
    assert old.status_code == 422 and "Reached on: must be a date from" in old.text
    ics = client.get(f"{plan_url}/calendar.ics")
    assert ics.status_code == 200 and ics.content.startswith(b"BEGIN:VCALENDAR")
    assert client.get("/recovery/behind").status_code == 403
    assert client.post(f"/episodes/{c.episode.id}/pathway/consent", data=_csrf(client)).status_code == 404
