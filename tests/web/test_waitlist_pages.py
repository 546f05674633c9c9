"""Waitlist pages: the desk adds a patient found by typing (every problem named by its field, what was
typed kept), the offer page books a freed time for the first to claim and tells the others it is taken."""

from __future__ import annotations

import re

from booking_helpers import at, future_day, make_clinic, patient_with_account
from factories import login, make_account, make_practitioner
from fastapi.testclient import TestClient
from sqlalchemy import select

from hindfoot.db.models import WaitlistEntry


def _csrf(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


def test_desk_finds_the_patient_by_typing_and_keeps_what_was_typed_on_error(client, db):
    clinic = make_clinic(db)
    ada, _ = patient_with_account(db, clinic, given="Adaeze")
    patient_with_account(db, clinic, given="Bea")
    desk = make_account(db, clinic.org, "receptionist", practitioner=make_practitioner(db, clinic.org, "receptionist"))
    db.commit()
    login(client, desk.email)
    page = client.get("/waitlist")
    assert page.status_code == 200 and 'hx-get="/patients/pick"' in page.text
    options = client.get("/patients/pick", params={"patient_q": "adae"})
    assert options.status_code == 200 and f'value="{ada.id}"' in options.text and "Bea" not in options.text
    token = _csrf(page.text)
    # no-script fallback: "Find" lists the matches and keeps the rest of the form
    found = client.post("/waitlist", data={"csrf_token": token, "action": "find", "patient_q": "adae",
                                           "note": "mornings only"})
    assert found.status_code == 200 and f'value="{ada.id}"' in found.text and "mornings only" in found.text
    bad = client.post("/waitlist", data={"csrf_token": token, "patient_id": str(ada.id), "service": "",
                                         "earliest": "2020-01-01", "note": "mornings only"})
    assert bad.status_code == 422
    assert 'id="w-service-error"' in bad.text and "Choose the appointment" in bad.text
    assert "mornings only" in bad.text and f'<option value="{ada.id}" selected' in bad.text
    past = client.post("/waitlist", data={"csrf_token": token, "patient_id": str(ada.id),
                                          "service": "new_consultation", "earliest": "2020-01-01", "note": "x" * 5})
    assert past.status_code == 422 and 'id="w-earliest-error"' in past.text and 'value="2020-01-01"' in past.text
    ok = client.post("/waitlist", data={"csrf_token": token, "patient_id": str(ada.id), "service": "new_consultation",
                                        "location_id": str(clinic.city.id)}, follow_redirects=False)
    assert ok.status_code == 303
    listed = client.get(ok.headers["location"])
    assert "Added to the waitlist" in listed.text and "Adaeze" in listed.text and "City" in listed.text


def test_offer_page_books_for_the_first_and_tells_the_second(mail_client, db):
    client, inbox = mail_client
    clinic = make_clinic(db)
    holder, _ = patient_with_account(db, clinic, given="Hana")
    ada, ada_account = patient_with_account(db, clinic, given="Ada")
    bea, _ = patient_with_account(db, clinic, given="Bea")
    db.commit()
    login(client, clinic.admin.email)
    day = future_day(4)
    booked = client.post("/api/appointments", json={
        "service": "new_consultation", "practitioner_id": str(clinic.surgeon.id), "location_id": str(clinic.city.id),
        "start": at(day, "16:00").isoformat(), "patient_id": str(holder.id)}).json()
    for p in (ada, bea):
        assert client.post("/api/waitlist", json={"service": "new_consultation", "patient_id": str(p.id)}).status_code == 201
    inbox.clear()
    client.post(f"/api/appointments/{booked['id']}/cancel", json={})
    links = {m["To"]: re.search(r"/waitlist/offers/[A-Za-z0-9_-]+", m.get_body(("plain",)).get_content()).group(0)
             for m in inbox if m["Subject"].startswith("A time has come free")}
    assert set(links) == {ada.email, bea.email}
    pages = {}
    for email in (ada.email, bea.email):  # both open their email before either claims
        anon = TestClient(client.app)
        page = anon.get(links[email])
        assert page.status_code == 200 and "Book this time" in page.text and "16:00" in page.text
        pages[email] = (anon, _csrf(page.text))
    for email in (ada.email, bea.email):
        anon, token = pages[email]
        result = anon.post(links[email], data={"csrf_token": token})
        if email == ada.email:
            assert result.status_code == 200 and "Booked" in result.text
        else:
            assert result.status_code == 409 and "already been taken" in result.text
    db.expire_all()
    assert {e.patient_id: e.status for e in db.scalars(select(WaitlistEntry))} == {ada.id: "booked", bea.id: "waiting"}
    assert TestClient(client.app).get("/waitlist/offers/" + "y" * 43).status_code == 404
    # the patient sees their entry is done; the desk's list shows the one still waiting
    login(client, ada_account.email)
    assert "Nobody is waiting" in client.get("/waitlist").text
