"""The waitlist: a cancelled time is emailed to the first matching waiting patients; the first to claim
books it, the others get 409; offers end; the front desk offers the rota's free times; who may see what."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from booking_helpers import at, future_day, make_clinic, patient_with_account
from factories import login, make_account, make_practitioner
from fastapi.testclient import TestClient
from sqlalchemy import select

from hindfoot.db.models import Appointment, AuditEvent, WaitlistEntry, WaitlistOffer


def _desk(db, clinic):  # type: ignore[no-untyped-def]
    return make_account(db, clinic.org, "receptionist", practitioner=make_practitioner(db, clinic.org, "receptionist",
                                                                                       family="Desk"))


def _link(message) -> str:  # type: ignore[no-untyped-def]
    body = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"/waitlist/offers/([A-Za-z0-9_-]+)", body).group(1)


def _wait(db):  # type: ignore[no-untyped-def]
    return db.scalars(select(WaitlistEntry).order_by(WaitlistEntry.created_at)).all()


def test_freed_time_goes_to_the_first_waiting_patients_and_the_first_claim_wins(mail_client, db):
    client, inbox = mail_client
    clinic = make_clinic(db)
    holder, _ = patient_with_account(db, clinic, given="Hana")
    ada, _ = patient_with_account(db, clinic, given="Ada")
    bea, _ = patient_with_account(db, clinic, given="Bea")
    cal, _ = patient_with_account(db, clinic, given="Cal")
    dee, _ = patient_with_account(db, clinic, given="Dee")
    desk = _desk(db, clinic)
    db.commit()
    day = future_day(5)
    login(client, desk.email)
    booked = client.post("/api/appointments", json={
        "service": "new_consultation", "practitioner_id": str(clinic.surgeon.id), "location_id": str(clinic.city.id),
        "start": at(day, "15:00").isoformat(), "patient_id": str(holder.id)})
    assert booked.status_code == 201, booked.text
    # four wait for a consultation (one only with the physio: no match); one for physio (no match)
    for patient, extra in ((ada, {}), (bea, {"practitioner_id": str(clinic.surgeon.id)}),
                           (cal, {"location_id": str(clinic.city.id), "earliest": day.isoformat()}),
                           (dee, {"practitioner_id": str(clinic.physio.id)})):
        r = client.post("/api/waitlist", json={"service": "new_consultation", "patient_id": str(patient.id), **extra})
        assert r.status_code in (201, 422), r.text
    # the physio gives no consultations: that entry is refused by name
    assert r.status_code == 422 and r.json()["field"] == "practitioner_id"
    r = client.post("/api/waitlist", json={"service": "new_consultation", "patient_id": str(ada.id)})
    assert r.status_code == 422 and r.json()["field"] == "service"  # already waiting
    r = client.post("/api/waitlist", json={"service": "new_consultation", "patient_id": str(dee.id),
                                           "earliest": (day - timedelta(days=30)).isoformat()})
    assert r.status_code == 422 and r.json()["field"] == "earliest"
    listed = client.get("/api/waitlist").json()
    assert [e["patient_name"].split()[0] for e in listed] == ["Ada", "Bea", "Cal"]

    inbox.clear()
    r = client.post(f"/api/appointments/{booked.json()['id']}/cancel", json={"reason": "holiday"})
    assert r.status_code == 200, r.text
    offers = [m for m in inbox if m["Subject"].startswith("A time has come free")]
    assert sorted(m["To"] for m in offers) == sorted([ada.email, bea.email, cal.email])
    assert "15:00" in offers[0]["Subject"] and "City" in offers[0]["Subject"]
    tokens = {m["To"]: _link(m) for m in offers}
    db.expire_all()
    assert {o.token_hash for o in db.scalars(select(WaitlistOffer))}.isdisjoint(tokens.values())  # only hashes

    anonymous = TestClient(client.app)
    inbox.clear()
    first = anonymous.post(f"/api/waitlist/offers/{tokens[bea.email]}/claim")
    assert first.status_code == 200, first.text
    assert [m["To"] for m in inbox if m["Subject"].startswith("Appointment confirmed")] == [bea.email]
    second = anonymous.post(f"/api/waitlist/offers/{tokens[ada.email]}/claim")
    assert second.status_code == 409 and second.json()["error"] == "offer_taken"
    assert anonymous.post(f"/api/waitlist/offers/{tokens[bea.email]}/claim").json() == first.json()  # idempotent
    assert anonymous.post("/api/waitlist/offers/" + "x" * 43 + "/claim").status_code == 404
    db.expire_all()
    appt = db.get(Appointment, uuid.UUID(first.json()["appointment_id"]))
    assert appt.patient_id == bea.id and appt.start == at(day, "15:00") and appt.status == "booked"
    assert {e.patient_id: e.status for e in _wait(db)} == {ada.id: "waiting", bea.id: "booked", cal.id: "waiting"}
    assert {o.status for o in db.scalars(select(WaitlistOffer))} == {"claimed", "taken"}
    assert "waitlist offer claimed" in " ".join(db.scalars(select(AuditEvent.description)))


def test_an_offer_ends_and_a_moved_visit_frees_its_time(mail_client, db):
    client, inbox = mail_client
    clinic = make_clinic(db)
    holder, _ = patient_with_account(db, clinic, given="Hana")
    ada, _ = patient_with_account(db, clinic, given="Ada")
    db.commit()
    day = future_day(6)
    login(client, clinic.admin.email)
    booked = client.post("/api/appointments", json={
        "service": "new_consultation", "practitioner_id": str(clinic.surgeon.id),
        "location_id": str(clinic.marylebone.id), "start": at(day, "10:00").isoformat(), "patient_id": str(holder.id)})
    assert client.post("/api/waitlist", json={"service": "new_consultation", "patient_id": str(ada.id)}).status_code == 201
    inbox.clear()
    r = client.post(f"/api/appointments/{booked.json()['id']}/reschedule", json={"start": at(day, "11:00").isoformat()})
    assert r.status_code == 200, r.text
    offer_mail = next(m for m in inbox if m["Subject"].startswith("A time has come free"))
    assert offer_mail["To"] == ada.email and "10:00" in offer_mail["Subject"]
    token = _link(offer_mail)
    offer = db.scalars(select(WaitlistOffer)).one()
    offer.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    db.commit()
    r = TestClient(client.app).post(f"/api/waitlist/offers/{token}/claim")
    assert r.status_code == 409 and r.json()["error"] == "offer_expired"
    db.expire_all()
    assert _wait(db)[0].status == "waiting"


def test_desk_offers_free_rota_times_to_everyone_waiting(mail_client, db):
    client, inbox = mail_client
    clinic = make_clinic(db)
    ada, _ = patient_with_account(db, clinic, given="Ada")
    bea, _ = patient_with_account(db, clinic, given="Bea")
    desk = _desk(db, clinic)
    db.commit()
    login(client, desk.email)
    start = future_day(3)
    for p in (ada, bea):
        assert client.post("/api/waitlist", json={
            "service": "physiotherapy", "patient_id": str(p.id), "earliest": start.isoformat(),
            "latest": (start + timedelta(days=2)).isoformat()}).status_code == 201
    inbox.clear()
    r = client.post("/api/waitlist/offer-free-times")
    assert r.status_code == 200 and r.json() == {"offered": 2}
    db.expire_all()
    offers = db.scalars(select(WaitlistOffer).order_by(WaitlistOffer.start)).all()
    assert len({(o.practitioner_id, o.start) for o in offers}) == 2  # two different times, one each
    assert all(start <= o.start.date() <= start + timedelta(days=2) for o in offers)
    assert sorted(m["To"] for m in inbox) == sorted([ada.email, bea.email])
    assert client.post("/api/waitlist/offer-free-times").json() == {"offered": 0}  # no second offer for the same


def test_who_sees_the_waitlist(client, db):
    clinic = make_clinic(db)
    ada, ada_account = patient_with_account(db, clinic, given="Ada")
    bea, _ = patient_with_account(db, clinic, given="Bea")
    boss = make_account(db, clinic.org, "manager", practitioner=make_practitioner(db, clinic.org, "manager"))
    db.commit()
    login(client, ada_account.email)
    r = client.post("/api/waitlist", json={"service": "new_consultation"})
    assert r.status_code == 201, r.text
    assert client.post("/api/waitlist", json={"service": "new_consultation", "patient_id": str(bea.id)}).status_code == 404
    assert client.post("/api/waitlist", json={"service": "day_case_surgery"}).json()["field"] == "service"
    mine = client.get("/api/waitlist").json()
    assert [e["patient_id"] for e in mine] == [str(ada.id)]
    client.post("/api/auth/logout")
    login(client, boss.email)
    assert client.get("/api/waitlist").status_code == 403
    assert client.post(f"/api/waitlist/{mine[0]['id']}/remove").status_code == 404
    client.post("/api/auth/logout")
    login(client, ada_account.email)
    assert client.post(f"/api/waitlist/{mine[0]['id']}/remove").status_code == 200
    assert client.get("/api/waitlist").json() == []


def test_offers_whose_send_failed_go_out_with_the_cli(database_url, db, monkeypatch):
    from smtp_server import smtp_server
    from typer.testing import CliRunner

    from hindfoot.auth.actor import Actor
    from hindfoot.cli.main import app as cli
    from hindfoot.scheduling import booking, waitlist
    from hindfoot.settings import get_settings

    clinic = make_clinic(db)
    holder, holder_account = patient_with_account(db, clinic, given="Hana")
    ada, _ = patient_with_account(db, clinic, given="Ada")
    desk = Actor.from_account(clinic.admin)
    appt = booking.book_appointment(db, desk, service="new_consultation", practitioner_id=clinic.surgeon.id,
                                    location_id=clinic.city.id, start=at(future_day(5), "14:00"), patient_id=holder.id)
    waitlist.join(db, desk, service="new_consultation", patient_id=ada.id)
    booking.cancel_appointment(db, desk, appt.id)  # no SMTP run here: the offer waits unsent
    db.commit()
    assert db.scalars(select(WaitlistOffer)).one().sent_at is None
    with smtp_server() as (port, inbox):
        monkeypatch.setenv("HINDFOOT_DATABASE_URL", database_url)
        monkeypatch.setenv("HINDFOOT_SMTP_PORT", str(port))
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(cli, ["waitlist", "send"])
            assert result.exit_code == 0 and "1 offer e-mailed" in result.output, result.output
            again = CliRunner().invoke(cli, ["waitlist", "send"])
            assert "0 offers e-mailed" in again.output
        finally:
            get_settings.cache_clear()
    assert [m["To"] for m in inbox] == [ada.email]


def test_a_new_opening_in_the_rota_is_offered_to_the_waitlist(mail_client, db):
    client, inbox = mail_client
    clinic = make_clinic(db)
    ada, _ = patient_with_account(db, clinic, given="Ada")
    boss = make_account(db, clinic.org, "manager", practitioner=make_practitioner(db, clinic.org, "manager"))
    expert = make_practitioner(db, clinic.org, "sports_physician", family="Newcomer")  # no rota yet
    db.commit()
    login(client, clinic.admin.email)
    day = future_day(9)
    assert client.post("/api/waitlist", json={
        "service": "new_consultation", "patient_id": str(ada.id), "practitioner_id": str(expert.id),
        "earliest": day.isoformat(), "latest": day.isoformat()}).status_code == 201
    client.post("/api/auth/logout")
    login(client, boss.email)  # the manager writes the rota; the opening goes to the waitlist
    inbox.clear()
    r = client.post("/api/availability/rules", json={
        "practitioner_id": str(expert.id), "location_id": str(clinic.city.id), "weekday": day.weekday(),
        "start": "09:00", "end": "12:00"})
    assert r.status_code == 201, r.text
    offer = next(m for m in inbox if m["Subject"].startswith("A time has come free"))
    assert offer["To"] == ada.email and day.strftime("%d %b") in offer["Subject"]
    db.expire_all()
    assert db.scalars(select(WaitlistOffer)).one().practitioner_id == expert.id
