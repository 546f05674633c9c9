"""A new patient books directly in the browser (creating an account), gets the confirmation
e-mail with a calendar invite, and cancels; staff see the calendar."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

import icalendar
from browsing import sign_in, wait_for_mail
from playwright.sync_api import expect


def test_new_patient_books_gets_invite_and_cancels(page, mail_inbox):
    email = f"new.patient.{uuid.uuid4().hex[:8]}@example.org"
    start_date = date.today() + timedelta(days=3)
    page.goto(f"/book?reason=posterior+ankle+pain&start_date={start_date.isoformat()}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Book an appointment")
    expect(page.get_by_text("posterior ankle pain")).to_be_visible()
    page.get_by_label("Location").select_option(index=1)  # one of the three London clinics
    page.get_by_role("button", name="Show times").click()
    first_slot = page.locator("a.slot").first
    expect(first_slot).to_be_visible()
    first_slot.click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your appointment")
    page.get_by_label("First name").fill("Nia")
    page.get_by_label("Last name").fill("Brown")
    page.get_by_label("Date of birth").fill("1996-04-02")
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Phone number").fill("07700 900321")
    page.get_by_label("Password").fill("a long password")
    page.get_by_role("button", name="Create account and book").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    confirm = wait_for_mail(mail_inbox, email, "Confirm your email").get_content()
    page.goto(re.search(r"http://\S+(/book/verify\?token=\S+)", confirm).group(1))

    expect(page.get_by_role("status")).to_contain_text("Your appointment is booked")
    expect(page.locator(".appt-status")).to_have_text("booked")
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Nia Brown")

    message = wait_for_mail(mail_inbox, email, "Appointment confirmed")
    part = next(p for p in message.iter_attachments() if p.get_content_type() == "text/calendar")
    cal = icalendar.Calendar.from_ical(part.get_payload(decode=True))
    assert cal["method"] == "REQUEST"
    event = cal.walk("VEVENT")[0]
    appointment_id = page.url.split("/appointments/")[1].split("?")[0]
    assert str(event["uid"]) == f"{appointment_id}@hindfoot"
    assert event.decoded("dtstart").date() >= start_date - timedelta(days=1)

    page.get_by_label("Reason for cancelling").fill("feeling better")
    page.get_by_role("button", name="Cancel appointment").click()
    expect(page.get_by_role("status")).to_contain_text("This appointment is cancelled")
    expect(page.locator(".appt-status")).to_have_text("cancelled")
    cancel = wait_for_mail(mail_inbox, email, "Appointment cancelled")
    part = next(p for p in cancel.iter_attachments() if p.get_content_type() == "text/calendar")
    assert icalendar.Calendar.from_ical(part.get_payload(decode=True))["method"] == "CANCEL"


def test_staff_calendar(page):
    sign_in(page, "admin@demo.hindfoot.local")
    page.get_by_role("link", name="Calendar").click()
    expect(page).to_have_url(re.compile(r"/calendar"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Calendar")
    page.get_by_label("View").select_option("day")
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".cal-day")).to_have_count(1)
    page.get_by_role("link", name="Rota, leave and closures").click()
    expect(page.get_by_role("heading", name="Weekly rota")).to_be_visible()
