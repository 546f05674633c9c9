"""The front door in Chromium: a symptom check that advises urgent care is offered a time within 48 hours,
travels with the booking, and the clinician finds its answers on the new record; the booking form and the
other page forms name every problem by its field and keep what was typed."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

from browsing import sign_in, wait_for_mail
from playwright.sync_api import expect

URGENT_YES = {"onset_sudden_injury", "cannot_bear_weight"}  # the Ottawa rule: urgent


def _do_check(page, yes: set[str]) -> None:  # type: ignore[no-untyped-def]
    page.goto("/check")
    page.get_by_role("button", name="Start the questions").click()
    for _ in range(30):
        if "/check/question" not in page.url:
            break
        finding = page.locator("input[name=finding]").get_attribute("value")
        options = page.locator("input[name=choice]")  # where it hurts / how it started: one answer of several
        if options.count():
            picked = [v for v in options.evaluate_all("els => els.map(e => e.value)") if v in yes]
            page.locator(f"input[name=choice][value={(picked or ['unknown'])[0]}]").check()
        else:
            page.get_by_label("Yes" if finding in yes else "No", exact=True).check()
        page.get_by_role("button", name="Next").click()
        page.wait_for_load_state("domcontentloaded")
    expect(page).to_have_url(re.compile(r"/check/result"))


def _register(page, given: str, family: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("First name").fill(given)
    page.get_by_label("Last name").fill(family)
    page.get_by_label("Date of birth").fill("1994-07-09")
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Phone number").fill("07700 900654")
    page.get_by_label("Password").fill("a long password")


def test_urgent_check_books_within_48_hours_and_the_clinician_sees_it(page, mail_inbox):
    _do_check(page, URGENT_YES)
    page.get_by_role("link", name="Book an urgent appointment").click()
    expect(page.get_by_role("heading", name="Urgent: times in the next 48 hours")).to_be_visible()
    slots = page.locator("a.slot")
    if slots.count() == 0:  # nobody free in the next 48 h (e.g. a weekend): the page says to call instead
        expect(page.locator("#urgent-call")).to_contain_text("call us")
        return
    href = slots.first.get_attribute("href")
    start = datetime.fromisoformat(parse_qs(urlparse(href).query)["start"][0])
    assert start <= datetime.now(UTC) + timedelta(hours=48)
    slots.first.click()
    expect(page.get_by_label("Share my symptom check answers with the clinic")).to_be_checked()
    family = f"Urgent{uuid.uuid4().hex[:6]}"
    email = f"ivy.{uuid.uuid4().hex[:8]}@example.org"
    _register(page, "Ivy", family, email)
    page.get_by_role("button", name="Create account and book").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")  # the same for any email
    confirm = wait_for_mail(mail_inbox, email, "Confirm your email").get_content()
    page.goto(re.search(r"http://\S+(/book/verify\?token=\S+)", confirm).group(1))
    expect(page.get_by_role("status")).to_contain_text("Your appointment is booked")
    expect(page.locator("body")).not_to_contain_text("Triaged urgent")  # staff wording, not for the patient
    page.get_by_role("button", name=re.compile("Sign out")).click()

    sign_in(page, "surgeon@demo.hindfoot.local")
    page.goto(f"/patients?q={family}")
    page.get_by_role("link", name=re.compile(family)).first.click()
    expect(page.get_by_text("Provisional triage (symptom check)")).to_be_visible()
    expect(page.locator("body")).to_contain_text("Triaged urgent")
    expect(page.locator("body")).to_contain_text("History findings")


def test_booking_form_names_every_problem_and_keeps_what_was_typed(page):
    page.goto("/book")
    page.get_by_label("From date").fill("2020-01-01")
    page.get_by_label("Location").select_option(index=1)
    page.get_by_role("button", name="Show times").click()
    expect(page.locator("a.slot").first).to_be_visible()  # a past date: search from today, the location kept
    page.locator("a.slot").first.click()
    page.get_by_label("First name").fill("X" * 120)
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_role("button", name="Create account and book").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    for field, text in (("given_name", "at most 100 characters"), ("family_name", "Enter the last name"),
                        ("sex", "Choose the sex"), ("phone", "Enter the phone number"),
                        ("password", "Enter the password"), ("email", "Email")):
        expect(page.locator(f"#f-{field}-error")).to_contain_text(text)
        expect(page.locator(f"#f-{field}")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("First name")).to_have_value("X" * 120)
    expect(page.get_by_label("Email")).to_have_value("not-an-email")
    summary.get_by_role("link").first.click()
    expect(page.locator("#f-given_name")).to_be_focused()


def test_contact_details_form_names_the_field_and_keeps_the_rest(page):
    sign_in(page, "patient@demo.hindfoot.local")
    page.get_by_role("link", name="My record").click()
    page.get_by_role("link", name="Change my contact details").click()
    page.get_by_label("GP practice").fill("Marylebone Health Centre")
    page.get_by_label("Emergency contact phone").fill("ring my mum")
    page.get_by_role("button", name="Save contact details").click()
    expect(page.locator("#c-emergency_phone-error")).to_contain_text("enter a phone number")
    expect(page.get_by_label("GP practice")).to_have_value("Marylebone Health Centre")
    page.get_by_label("Emergency contact phone").fill("07700 900999")
    page.get_by_label("How we contact you").select_option("sms")
    page.get_by_role("button", name="Save contact details").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    page.get_by_role("link", name="Back to my record").click()
    expect(page.locator(".contact-details")).to_contain_text("Marylebone Health Centre")
    expect(page.locator(".contact-details")).to_contain_text("Text message")


def test_new_patient_form_names_the_field_and_keeps_the_rest(page):
    sign_in(page, "surgeon@demo.hindfoot.local")
    page.goto("/patients/new")
    page.get_by_label("Given name").fill("Lea")
    page.get_by_label("Date of birth").fill("2999-01-01")
    page.get_by_role("button", name="Create the record").click()
    expect(page.locator("#p-family_name-error")).to_contain_text("Enter the family name")
    expect(page.locator("#p-birth_date-error")).to_contain_text("cannot be in the future")
    expect(page.locator("#p-sex-error")).to_contain_text("Choose the sex")
    expect(page.get_by_label("Given name")).to_have_value("Lea")


def test_staff_form_names_every_problem_and_keeps_what_was_typed(page):
    sign_in(page, "admin@demo.hindfoot.local")
    page.goto("/admin/staff")
    add = page.locator('form[action="/admin/staff"]')
    add.get_by_label("Given name").fill("N" * 150)
    add.get_by_label("Sign-in email").fill("nobody")
    add.get_by_label("Qualification").fill("FRCS (Tr & Orth)")
    add.get_by_role("button", name="Add and send the invitation").click()
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.locator("#s-given_name-error")).to_contain_text("at most 100 characters (you typed 150)")
    expect(page.locator("#s-family_name-error")).to_contain_text("Enter the family name")
    expect(page.locator("#s-role-error")).to_contain_text("Choose the role")
    expect(page.locator("#s-email-error")).to_contain_text("Sign-in email")
    add = page.locator('form[action="/admin/staff"]')
    expect(add.get_by_label("Qualification")).to_have_value("FRCS (Tr & Orth)")
    expect(add.get_by_label("Given name")).to_have_value("N" * 150)
