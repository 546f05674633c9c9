"""Booking as a new patient answers the same whether or not the email has an account."""

from __future__ import annotations

import re

from booking_helpers import future_day, make_clinic, patient_with_account
from browsing import wait_for_mail
from sqlalchemy import func, select

from hindfoot.db.models import Appointment, UserAccount


def _csrf(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


def _confirm_form(client, n: int) -> dict[str, str]:  # type: ignore[no-untyped-def]
    page = client.get("/book", params={"start_date": future_day().isoformat()})
    links = re.findall(r'href="(/book/confirm\?[^"]+)"', page.text)
    confirm = client.get(links[n].replace("&amp;", "&"))
    return dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', confirm.text))


def _book(client, hidden, email):  # type: ignore[no-untyped-def]
    form = {**hidden, "given_name": "Nia", "family_name": "Brown", "birth_date": "1996-04-02", "sex": "female",
            "email": email, "phone": "020 7946 0123", "password": "a long password"}
    return client.post("/book/confirm", data=form, follow_redirects=False)


def test_an_email_with_an_account_gets_the_same_answer_and_an_email_instead(mail_client, db):
    client, inbox = mail_client
    clinic = make_clinic(db)
    _, existing = patient_with_account(db, clinic)
    db.commit()
    appointments_before = db.scalar(select(func.count()).select_from(Appointment))
    new = _book(client, _confirm_form(client, 0), "brand.new@example.org")
    known = _book(client, _confirm_form(client, 1), existing.email)
    assert new.status_code == known.status_code == 303
    assert new.headers["location"].replace("brand.new%40example.org", "E") == \
        known.headers["location"].replace(existing.email.replace("@", "%40"), "E")
    pages = [client.get(r.headers["location"]).text for r in (new, known)]
    assert pages[0].replace("brand.new@example.org", "E") == pages[1].replace(existing.email, "E")
    assert "Check your email" in pages[0]
    # the owner of the existing account is told; nothing was booked or created for that email
    told = wait_for_mail(inbox, existing.email, "you already have an account").get_content()
    assert "nothing was booked" in told and "/login" in told
    wait_for_mail(inbox, "brand.new@example.org", "Confirm your email")
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Appointment)) == appointments_before + 1
    assert db.scalar(select(func.count()).select_from(UserAccount).where(UserAccount.email == existing.email)) == 1


def test_a_taken_time_is_refused_alike_for_either_email(client, db):
    clinic = make_clinic(db)
    _, existing = patient_with_account(db, clinic)
    db.commit()
    hidden = _confirm_form(client, 0)
    assert _book(client, hidden, "first@example.org").status_code == 303
    for email in ("second@example.org", existing.email):
        r = _book(client, hidden, email)
        assert r.status_code == 409 and "already has an appointment" in r.text, email


def test_an_unconfirmed_account_cannot_sign_in_yet(client, db):
    make_clinic(db)
    db.commit()
    assert _book(client, _confirm_form(client, 0), "nia@example.org").status_code == 303
    r = client.post("/api/auth/login", json={"email": "nia@example.org", "password": "a long password"})
    assert r.status_code == 401 and r.json()["message"] == "email or password is wrong"
