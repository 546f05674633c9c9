"""Demographics: phone, address, GP practice, emergency contact and preferred contact, shown on the
record and changed by the patient or their clinic's staff (page and API), every problem named."""

from __future__ import annotations

import re

from booking_helpers import make_clinic, patient_with_account
from factories import login
from sqlalchemy import select

from hindfoot.db.models import AuditEvent, Patient


def _csrf(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


def test_patient_changes_their_own_contact_details(client, db):
    clinic = make_clinic(db)
    patient, account = patient_with_account(db, clinic)
    other, _ = patient_with_account(db, clinic, given="Bea")
    db.commit()
    login(client, account.email)
    record = client.get(f"/patients/{patient.id}")
    assert "Change my contact details" in record.text and "GP practice" in record.text
    page = client.get(f"/patients/{patient.id}/contact")
    assert page.status_code == 200 and "My contact details" in page.text
    form = {"csrf_token": _csrf(page.text), "phone": "020 7946 0999", "email": patient.email,
            "address": "4 Harley Street\nLondon W1G 9PF", "gp_practice": "Marylebone Health Centre",
            "emergency_contact": "Sam Lee (partner)", "emergency_phone": "not a number",
            "preferred_contact": "carrier pigeon"}
    bad = client.post(f"/patients/{patient.id}/contact", data=form)
    assert bad.status_code == 422
    assert re.search(r'id="c-emergency_phone-error"[^>]*>.*Emergency contact phone: enter a phone number', bad.text)
    assert re.search(r'id="c-preferred_contact-error"[^>]*>.*How we contact you: choose one of the options', bad.text)
    assert 'value="Sam Lee (partner)"' in bad.text and "4 Harley Street" in bad.text
    db.expire_all()
    assert db.get(Patient, patient.id).gp_practice is None, "nothing is half-written"
    ok = client.post(f"/patients/{patient.id}/contact",
                     data={**form, "emergency_phone": "07700 900111", "preferred_contact": "sms"},
                     follow_redirects=False)
    assert ok.status_code == 303
    db.expire_all()
    saved = db.get(Patient, patient.id)
    assert (saved.phone, saved.gp_practice, saved.emergency_phone, saved.preferred_contact) == (
        "020 7946 0999", "Marylebone Health Centre", "07700 900111", "sms")
    assert "Sam Lee (partner), 07700 900111" in client.get(f"/patients/{patient.id}").text
    assert db.scalar(select(AuditEvent).where(AuditEvent.patient_id == patient.id,
                                              AuditEvent.description.like("contact details: %gp_practice%")))
    # another patient's details: an audited 404, page and API alike
    assert client.get(f"/patients/{other.id}/contact").status_code == 404
    assert client.patch(f"/api/patients/{other.id}/contact", json={"phone": "0123 456789"}).status_code == 404


def test_staff_change_contact_details_through_the_api(client, db):
    clinic = make_clinic(db)
    patient, _ = patient_with_account(db, clinic)
    db.commit()
    login(client, clinic.admin.email)
    r = client.patch(f"/api/patients/{patient.id}/contact", json={"gp_practice": "City GP", "phone": "abc"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "phone"
    r = client.patch(f"/api/patients/{patient.id}/contact", json={"gp_practice": "City GP", "address": "1 Road"})
    assert r.status_code == 200 and r.json()["gp_practice"] == "City GP" and r.json()["address"] == "1 Road"
    assert client.get(f"/api/patients/{patient.id}/contact").json()["gp_practice"] == "City GP"
    assert "City GP" in client.get(f"/patients/{patient.id}").text
