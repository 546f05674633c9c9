"""A patient's data rights in Chromium: a new patient downloads their record (FHIR file, readable
summary, PDF) and asks for erasure; the clinic's admin accepts it; the patient can no longer sign in,
the name is gone from the patient search, and the record's clinical rows (the appointment) remain.
No page trips the Content-Security-Policy."""

from __future__ import annotations

import json
import re
import uuid
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from browsing import sign_in, wait_for_mail
from playwright.sync_api import expect

ADMIN = "admin@demo.hindfoot.local"


def _sign_out(page) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("navigation", name="Main").get_by_role("button", name="Sign out").click()
    page.wait_for_load_state("networkidle")


def _new_patient(page, mail_inbox, email: str, family: str) -> None:  # type: ignore[no-untyped-def]
    """Book as a new patient (the only way a patient account is made) and confirm the email."""
    page.goto(f"/book?reason=posterior+ankle+pain&start_date={(date.today() + timedelta(days=4)).isoformat()}")
    page.get_by_label("Location").select_option(index=1)
    page.get_by_role("button", name="Show times").click()
    page.locator("a.slot").first.click()
    page.get_by_label("First name").fill("Ines")
    page.get_by_label("Last name").fill(family)
    page.get_by_label("Date of birth").fill("1991-07-09")
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Phone number").fill("07700 900654")
    page.get_by_label("Password").fill("a long password")
    page.get_by_role("button", name="Create account and book").click()
    confirm = wait_for_mail(mail_inbox, email, "Confirm your email").get_content()
    page.goto(re.search(r"http://\S+(/book/verify\?token=\S+)", confirm).group(1))
    expect(page.get_by_role("status")).to_contain_text("Your appointment is booked")


def test_a_patient_downloads_their_record_and_has_it_erased(page, mail_inbox, tmp_path: Path):
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    family = "Quillfeather" + uuid.uuid4().hex[:6]
    email = f"ines.{family.lower()}@example.org"
    _new_patient(page, mail_inbox, email, family)

    page.get_by_role("link", name="My record").click()
    patient_path = urlsplit(page.url).path  # /patients/<id>
    page.get_by_role("link", name="My data").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My data")
    with page.expect_download() as fhir:
        page.get_by_role("link", name="Download it as a FHIR file").click()
    bundle = json.loads(Path(fhir.value.path()).read_text())
    patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    assert patient["name"][0]["family"] == family
    assert "Appointment" in {e["resource"]["resourceType"] for e in bundle["entry"]}
    with page.expect_download() as pdf:
        page.get_by_role("link", name="Download it as a PDF").click()
    assert Path(pdf.value.path()).read_bytes().startswith(b"%PDF-")
    page.get_by_role("link", name="Read my record").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Ines {family}")
    expect(page.get_by_role("heading", name="Who opened or changed your record")).to_be_visible()
    page.get_by_role("link", name="Back to My data").click()

    page.get_by_label("What you ask for").select_option("erasure")
    page.get_by_label("Details").fill("I am moving abroad and want my details gone.")
    page.get_by_role("button", name="Send my request").click()
    expect(page.get_by_role("status")).to_contain_text("Your request is sent")
    expect(page.locator("table.data-requests")).to_contain_text("waiting for the clinic")
    _sign_out(page)

    sign_in(page, ADMIN)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Data requests").click()
    request = page.locator("section.data-request", has=page.get_by_role("heading", name=f"Erase my data: Ines {family}"))
    expect(request).to_contain_text("moving abroad")
    request.get_by_role("button", name="Accept and erase").click()
    expect(page.get_by_role("status")).to_contain_text("Erase my data: accepted and carried out")
    # the name is gone from the search; the record stays, with its appointment, under no name
    page.goto(f"/patients?q={family}")
    expect(page.get_by_text("No patients match.")).to_be_visible()
    page.goto(patient_path)
    expect(page.get_by_role("heading", level=1)).to_have_text("Erased patient")
    expect(page.get_by_role("note").first).to_contain_text("Identity erased")
    expect(page.get_by_role("heading", name="Appointments")).to_be_visible()
    expect(page.get_by_text(email)).to_have_count(0)
    _sign_out(page)

    sign_in(page, email, "a long password")
    expect(page.get_by_role("alert")).to_contain_text("Email or password is wrong")
    answer = wait_for_mail(mail_inbox, email, "accepted").get_content()
    assert "Kept:" in answer and "clinical record" in answer
    assert violations == []
