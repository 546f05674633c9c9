"""Services as clinic data: durations and providing roles drive slot search and booking checks;
admins edit them (API and page), clinicians only read, bad input names its field."""

from __future__ import annotations

from datetime import timedelta

import pytest
from booking_helpers import actor, at, future_day, make_clinic, patient_with_account
from factories import login, make_org
from sqlalchemy import select

from hindfoot.db.models import Appointment, ClinicService
from hindfoot.errors import Forbidden, InvalidInput
from hindfoot.scheduling import booking, clinic_setup, guards, notices, rota
from hindfoot.scheduling import clinic as clinic_data
from hindfoot.scheduling import search as slot_search
from hindfoot.scheduling.availability import SlotProblem, SlotUnavailable
from hindfoot.scheduling.catalogue import CATALOGUE
from hindfoot.scheduling.clinic_setup import ServiceFields


@pytest.fixture
def clinic(db):
    c = make_clinic(db)
    db.commit()
    return c


def _minutes(option: slot_search.SlotOption) -> int:
    return int((option.slot.end - option.slot.start) / timedelta(minutes=1))


def test_defaults_until_first_edit_then_rows(db, clinic):
    assert clinic_data.services_for(db, clinic.org.id) is CATALOGUE
    clinic_setup.update_service(db, actor(clinic.admin), "follow_up", ServiceFields(duration_minutes=25))
    rows = db.scalars(select(ClinicService).where(ClinicService.organization_id == clinic.org.id)
                      .order_by(ClinicService.position)).all()
    assert [r.code for r in rows] == list(CATALOGUE)  # the defaults, seeded once, in order
    services = clinic_data.services_for(db, clinic.org.id)
    assert services["follow_up"].duration_minutes == 25
    assert services["physiotherapy"] == CATALOGUE["physiotherapy"]
    assert clinic_data.services_for(db, make_org(db, "Other").id) is CATALOGUE  # one clinic's edit stays its own


def test_a_booking_reads_the_same_services_along_with_its_rows(db, clinic):
    """On PostgreSQL a booking reads the clinic's services in its first query (one JSON column): the same
    services, in the same order, as services_for, before and after the clinic edits them."""
    def preloaded():  # type: ignore[no-untyped-def]
        return guards.preload(db, clinic.org.id, practitioner_id=clinic.physio.id, services=True).services

    postgres = db.get_bind().dialect.name == "postgresql"
    assert preloaded() is (CATALOGUE if postgres else None)
    clinic_setup.update_service(db, actor(clinic.admin), "follow_up", ServiceFields(duration_minutes=25))
    clinic_setup.update_service(db, actor(clinic.admin), "new_consultation", ServiceFields(roles=["sports_physician"]))
    clinic_setup.update_service(db, actor(clinic.admin), "imaging", ServiceFields(active=False))
    services = clinic_data.services_for(db, clinic.org.id)
    assert services is not CATALOGUE
    if postgres:
        read_along = preloaded()
        assert read_along == services and list(read_along) == list(services)


def test_changed_duration_changes_slot_length_for_new_bookings_only(db, clinic):
    patient, account = patient_with_account(db, clinic)
    day = future_day()
    booked = booking.book_appointment(db, actor(account), service="physiotherapy", practitioner_id=clinic.physio.id,
                                      location_id=clinic.marylebone.id, start=at(day, "09:00"))
    _, before = slot_search.search_slots(db, None, "physiotherapy", start_date=day, days=1, limit=50)
    assert {_minutes(o) for o in before} == {45}

    clinic_setup.update_service(db, actor(clinic.admin), "physiotherapy", ServiceFields(duration_minutes=30))
    svc, after = slot_search.search_slots(db, None, "physiotherapy", start_date=day, days=1, limit=50)
    assert svc.duration_minutes == 30 and {_minutes(o) for o in after} == {30}
    assert len(after) > len(before)  # 08:00-16:00 holds more half-hour visits
    second = booking.book_appointment(db, actor(account), service="physiotherapy", practitioner_id=clinic.physio.id,
                                      location_id=clinic.marylebone.id, start=at(day, "14:00"))
    assert second.end - second.start == timedelta(minutes=30)
    db.refresh(booked)
    assert booked.end - booked.start == timedelta(minutes=45)  # already booked: unchanged
    moved = booking.reschedule_appointment(db, actor(clinic.admin), booked.id, start=at(day, "11:00"))
    assert moved.end - moved.start == timedelta(minutes=45)  # moving keeps the booked length


def test_removing_a_role_makes_its_practitioners_unbookable(db, clinic):
    _, account = patient_with_account(db, clinic)
    clinic_setup.update_service(db, actor(clinic.admin), "new_consultation",
                                ServiceFields(roles=["sports_physician"]))
    _, slots = slot_search.search_slots(db, None, "new_consultation", limit=20)
    assert slots == []  # the test clinic's only consultant is a surgeon
    with pytest.raises(SlotUnavailable) as refused:
        booking.book_appointment(db, actor(account), service="new_consultation", practitioner_id=clinic.surgeon.id,
                                 location_id=clinic.marylebone.id, start=at(future_day(), "10:00"))
    assert refused.value.problem is SlotProblem.service_not_provided
    with pytest.raises(InvalidInput) as rule:  # the rota cannot reserve it for him either
        rota.add_rule(db, actor(clinic.admin), practitioner_id=clinic.surgeon.id, location_id=clinic.city.id,
                         weekday=2, start=at(future_day(), "08:00").time(), end=at(future_day(), "09:00").time(),
                         services=["new_consultation"])
    assert rule.value.field == "services"


def test_new_service_is_bookable_and_a_retired_one_is_not(db, clinic):
    admin = actor(clinic.admin)
    _, account = patient_with_account(db, clinic)
    new = clinic_setup.create_service(db, admin, "gait_analysis", ServiceFields(
        name="Gait analysis", description="Video analysis of how you walk and run.", duration_minutes=60,
        roles=["physiotherapist"]))
    assert new.code == "gait_analysis" and new.active
    day = future_day()
    _, slots = slot_search.search_slots(db, None, "gait_analysis", start_date=day, days=1, limit=50)
    assert slots and {o.practitioner.id for o in slots} == {clinic.physio.id} and {_minutes(o) for o in slots} == {60}
    appt = booking.book_appointment(db, actor(account), service="gait_analysis", practitioner_id=clinic.physio.id,
                                    location_id=clinic.marylebone.id, start=slots[0].slot.start)
    assert appt.service_type == "gait_analysis"

    clinic_setup.update_service(db, admin, "gait_analysis", ServiceFields(active=False))
    with pytest.raises(InvalidInput) as retired:
        slot_search.search_slots(db, None, "gait_analysis", limit=5)
    assert retired.value.field == "service"
    with pytest.raises(InvalidInput):
        booking.book_appointment(db, actor(account), service="gait_analysis", practitioner_id=clinic.physio.id,
                                 location_id=clinic.marylebone.id, start=slots[1].slot.start)
    # The booked one still names its service.
    assert notices.notice_for(db, appt, "reminder").service_name == "Gait analysis"
    assert [s.code for s in clinic_setup.list_services(db, admin)][-1] == "gait_analysis"


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (ServiceFields(duration_minutes=4), "duration_minutes", "5 to 480 minutes"),
        (ServiceFields(duration_minutes=481), "duration_minutes", "5 to 480 minutes"),
        (ServiceFields(roles=["surgeon", "receptionist"]), "roles", "unknown practitioner role 'receptionist'"),
        (ServiceFields(roles=["admin"]), "roles", "unknown practitioner role"),
        (ServiceFields(roles=[]), "roles", "at least one"),
        (ServiceFields(name="   "), "name", "enter the name"),
    ],
)
def test_service_validation_names_the_field(db, clinic, change, field, words):
    with pytest.raises(InvalidInput) as caught:
        clinic_setup.update_service(db, actor(clinic.admin), "follow_up", change)
    assert caught.value.field == field and words in caught.value.message


def test_clinicians_read_but_cannot_edit(db, clinic):
    clinician = actor(clinic.clinician)
    assert len(clinic_setup.list_services(db, clinician)) == len(CATALOGUE)
    with pytest.raises(Forbidden):
        clinic_setup.update_service(db, clinician, "follow_up", ServiceFields(duration_minutes=20))
    with pytest.raises(Forbidden):
        clinic_setup.create_service(db, clinician, "x_ray", ServiceFields(name="X", duration_minutes=10,
                                                                           roles=["radiologist"]))
    assert db.scalar(select(ClinicService.id).limit(1)) is None


def test_services_api(client, db, clinic):
    public = client.get("/api/services").json()
    assert [s["code"] for s in public] == list(CATALOGUE) and public[0]["active"] is True
    login(client, clinic.clinician.email)
    assert client.patch("/api/services/follow_up", json={"duration_minutes": 20}).status_code == 403
    assert client.post("/api/services", json={"code": "x_ray", "name": "X-ray", "duration_minutes": 10,
                                              "roles": ["radiologist"]}).status_code == 403
    client.post("/api/auth/logout")
    login(client, clinic.admin.email)

    bad = [
        ({"duration_minutes": 600}, "duration_minutes"),
        ({"roles": ["wizard"]}, "roles"),
        ({"name": ""}, "name"),
        ({"colour": "red"}, "colour"),  # unknown fields are refused, not ignored
    ]
    for body, field in bad:
        r = client.patch("/api/services/follow_up", json=body)
        assert r.status_code == 422, (body, r.text)
        payload = r.json()
        assert payload.get("field") == field or payload["errors"][0]["field"] == field, payload
    assert client.patch("/api/services/massage", json={"name": "Massage"}).status_code == 404

    ok = client.patch("/api/services/follow_up", json={"duration_minutes": 20, "roles": ["surgeon"]})
    assert ok.status_code == 200 and ok.json()["duration_minutes"] == 20 and ok.json()["roles"] == ["surgeon"]
    slots = client.get("/api/slots", params={"service": "follow_up", "limit": 3}).json()
    assert slots["service"]["duration_minutes"] == 20

    body = {"code": "gait_analysis", "name": "Gait analysis", "duration_minutes": 60, "roles": ["physiotherapist"]}
    created = client.post("/api/services", json=body)
    assert created.status_code == 201, created.text
    dup = client.post("/api/services", json=body)
    assert dup.status_code == 422 and dup.json()["field"] == "code" and "already exists" in dup.json()["message"]
    bad_code = client.post("/api/services", json={**body, "code": "Gait Analysis"})
    assert bad_code.status_code == 422 and bad_code.json()["field"] == "code"

    assert client.patch("/api/services/gait_analysis", json={"active": False}).json()["active"] is False
    assert "gait_analysis" not in [s["code"] for s in client.get("/api/services").json()]
    every = client.get("/api/services", params={"include_inactive": "true"}).json()
    assert next(s for s in every if s["code"] == "gait_analysis")["active"] is False
    refused = client.get("/api/slots", params={"service": "gait_analysis"})
    assert refused.status_code == 422 and refused.json()["field"] == "service"


def test_services_page(client, db, clinic):
    login(client, clinic.clinician.email)
    page = client.get("/calendar/services")
    assert page.status_code == 200 and "New patient consultation" in page.text
    assert 'action="/calendar/services/follow_up"' not in page.text  # read-only for clinicians
    refused = client.post("/calendar/services/follow_up", data={"name": "Follow-up", "duration_minutes": "20",
                                                                "roles": ["surgeon"], "active": "1"})
    assert refused.status_code == 403
    client.post("/api/auth/logout")
    login(client, clinic.admin.email)
    page = client.get("/calendar/services")
    assert 'action="/calendar/services/follow_up"' in page.text and 'href="/calendar/locations"' in page.text

    form = {"name": "Follow-up appointment", "description": "A short review.", "duration_minutes": "2",
            "roles": ["surgeon", "sports_physician"], "active": "1"}
    bad = client.post("/calendar/services/follow_up", data=form)
    assert bad.status_code == 422 and "5 to 480 minutes" in bad.text and 'value="2"' in bad.text
    ok = client.post("/calendar/services/follow_up", data={**form, "duration_minutes": "25"}, follow_redirects=False)
    assert ok.status_code == 303
    assert clinic_data.services_for(db, clinic.org.id)["follow_up"].duration_minutes == 25
    book = client.get("/book", params={"service": "follow_up"})
    assert "Follow-up appointment (25 min)" in book.text

    added = client.post("/calendar/services", data={"code": "gait_analysis", "name": "Gait analysis",
                                                    "duration_minutes": "60", "roles": ["physiotherapist"]},
                        follow_redirects=False)
    assert added.status_code == 303
    again = client.post("/calendar/services", data={"code": "gait_analysis", "name": "Gait analysis",
                                                    "duration_minutes": "60"})
    assert again.status_code == 422 and "already exists" in again.text
    unticked = client.post("/calendar/services/gait_analysis", data={"name": "Gait analysis", "duration_minutes": "60",
                                                                     "roles": ["physiotherapist"]},
                           follow_redirects=False)  # "Offered for booking" left unticked
    assert unticked.status_code == 303
    assert "Gait analysis" not in client.get("/book").text
    assert db.scalar(select(Appointment.id).limit(1)) is None
