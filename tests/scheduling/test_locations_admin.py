"""Locations kept by admins: create, edit, close. A closed location leaves booking (pages, slot
search, the public list) but keeps its appointments; clinicians read only."""

from __future__ import annotations

import pytest
from booking_helpers import actor, at, future_day, make_clinic, patient_with_account
from factories import login, make_org
from sqlalchemy import select

from hindfoot.db.models import Location
from hindfoot.errors import Forbidden, InvalidInput, NotFound
from hindfoot.scheduling import booking, clinic_setup
from hindfoot.scheduling.clinic_setup import LocationFields


@pytest.fixture
def clinic(db):
    c = make_clinic(db)
    db.commit()
    return c


def test_closing_a_location_hides_it_from_booking_but_keeps_history(client, db, clinic):
    patient, account = patient_with_account(db, clinic)
    appt = booking.book_appointment(db, actor(account), service="new_consultation", practitioner_id=clinic.surgeon.id,
                                    location_id=clinic.city.id, start=at(future_day(), "15:00"))
    db.commit()
    assert "City" in client.get("/book").text
    assert "City" in {o["location"] for o in client.get("/api/slots", params={"service": "new_consultation",
                                                                                "limit": 100}).json()["items"]}

    login(client, clinic.admin.email)
    closed = client.patch(f"/api/locations/{clinic.city.id}", json={"active": False})
    assert closed.status_code == 200 and closed.json()["active"] is False and closed.json()["name"] == "City"

    assert "City" not in [loc["name"] for loc in client.get("/api/locations").json()]
    staff_view = client.get("/api/locations", params={"include_inactive": "true"}).json()
    assert {loc["name"]: loc["active"] for loc in staff_view}["City"] is False
    slots = client.get("/api/slots", params={"service": "new_consultation", "limit": 100}).json()["items"]
    assert slots and "City" not in {o["location"] for o in slots}
    narrowed = client.get("/api/slots", params={"service": "new_consultation", "location_id": str(clinic.city.id)})
    assert narrowed.status_code == 422 and narrowed.json()["field"] == "location_id"
    book_page = client.get("/book", params={"location_id": str(clinic.city.id)})
    assert book_page.status_code == 200 and f'value="{clinic.city.id}"' not in book_page.text
    # History stays: the appointment still points at the location and its page names it.
    kept = client.get(f"/api/appointments/{appt.id}").json()
    assert kept["location_id"] == str(clinic.city.id) and kept["status"] == "booked"
    assert "City" in client.get(f"/appointments/{appt.id}").text

    reopened = client.patch(f"/api/locations/{clinic.city.id}", json={"active": True})
    assert reopened.json()["active"] is True
    assert "City" in [loc["name"] for loc in client.get("/api/locations").json()]


def test_create_and_edit_through_the_api(client, db, clinic):
    login(client, clinic.admin.email)
    created = client.post("/api/locations", json={
        "name": "Canary Wharf", "address_line": "1 Cabot Square", "city": "London", "postcode": "E14 4QJ",
        "phone": "020 7946 0100", "description": "Step-free access from the Elizabeth line."})
    assert created.status_code == 201, created.text
    loc_id = created.json()["id"]
    assert "Canary Wharf" in [loc["name"] for loc in client.get("/api/locations").json()]
    edited = client.patch(f"/api/locations/{loc_id}", json={"phone": "", "postcode": "E14 5AB"})
    assert edited.status_code == 200 and edited.json()["phone"] is None and edited.json()["postcode"] == "E14 5AB"
    assert edited.json()["address_line"] == "1 Cabot Square"  # untouched fields stay

    for body, field in [({"name": ""}, "name"), ({"name": "marylebone"}, "name"),
                        ({"postcode": "X" * 21}, "postcode"), ({"floor": 3}, "floor")]:
        r = client.patch(f"/api/locations/{loc_id}", json=body)
        assert r.status_code == 422, (body, r.text)
        payload = r.json()
        assert payload.get("field") == field or payload["errors"][0]["field"] == field, payload
    missing = client.post("/api/locations", json={"city": "London"})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "name"
    other = make_org(db, "Another clinic")
    elsewhere = Location(organization_id=other.id, name="Elsewhere")
    db.add(elsewhere)
    db.commit()
    assert client.patch(f"/api/locations/{elsewhere.id}", json={"active": False}).status_code == 404


def test_clinicians_cannot_change_locations(client, db, clinic):
    clinician = actor(clinic.clinician)
    assert [loc.name for loc in clinic_setup.list_locations(db, clinician)] == ["City", "Fitzrovia", "Marylebone"]
    with pytest.raises(Forbidden):
        clinic_setup.update_location(db, clinician, clinic.city.id, LocationFields(active=False))
    login(client, clinic.clinician.email)
    assert client.post("/api/locations", json={"name": "Annex"}).status_code == 403
    assert client.patch(f"/api/locations/{clinic.city.id}", json={"active": False}).status_code == 403
    page = client.get("/calendar/locations")
    assert page.status_code == 200 and "Marylebone" in page.text and "Add a location" not in page.text
    assert client.post(f"/calendar/locations/{clinic.city.id}", data={"name": "City"}).status_code == 403
    db.expire_all()
    assert db.get(Location, clinic.city.id).active


def test_location_validation(db, clinic):
    admin = actor(clinic.admin)
    with pytest.raises(InvalidInput) as no_name:
        clinic_setup.create_location(db, admin, LocationFields(name="  "))
    assert no_name.value.field == "name"
    with pytest.raises(NotFound):
        clinic_setup.update_location(db, admin, clinic.org.id, LocationFields(name="Nowhere"))


def test_locations_page(client, db, clinic):
    login(client, clinic.admin.email)
    page = client.get("/calendar/locations")
    assert page.status_code == 200 and "Add a location" in page.text and 'href="/calendar/services"' in page.text
    rota = client.get("/calendar/rota")
    assert 'href="/calendar/locations"' in rota.text and 'href="/calendar/services"' in rota.text

    bad = client.post("/calendar/locations", data={"name": "", "city": "London"})
    assert bad.status_code == 422 and "enter the name" in bad.text and 'value="London"' in bad.text
    added = client.post("/calendar/locations", data={"name": "Canary Wharf", "address_line": "1 Cabot Square",
                                                     "city": "London", "postcode": "E14 4QJ"}, follow_redirects=False)
    assert added.status_code == 303
    new = db.scalar(select(Location).where(Location.name == "Canary Wharf"))
    assert new is not None and new.active and new.postcode == "E14 4QJ"

    closed = client.post(f"/calendar/locations/{new.id}", data={"name": "Canary Wharf", "address_line": "1 Cabot Square",
                                                              "city": "London", "postcode": "E14 4QJ"},
                         follow_redirects=False)  # "Open for booking" unticked
    assert closed.status_code == 303
    db.expire_all()
    assert db.get(Location, new.id).active is False
    assert "Canary Wharf" not in client.get("/book").text
    assert "Canary Wharf" in client.get("/calendar/locations").text
