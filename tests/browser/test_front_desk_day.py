"""The receptionist's day in Chromium (issue 15's done-when): books from the grid, checks a patient in,
marks a did-not-attend, puts a patient on the waitlist with the type-ahead picker, and when a booking is
cancelled the waiting patient gets the email and claims the freed time from its link."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from browsing import serve_demo, sign_in, wait_for_mail
from playwright.sync_api import expect
from sqlalchemy import select

from hindfoot.db.engine import make_engine, make_sessionmaker
from hindfoot.db.models import (
    Appointment,
    Location,
    Organization,
    Patient,
    Practitioner,
    UserAccount,
)

LONDON = ZoneInfo("Europe/London")


@pytest.fixture(scope="module")
def desk_server(tmp_path_factory: pytest.TempPathFactory, mail_server) -> Iterator[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Its own demo clinic (so the test can put today's visits in its diary) on the shared mail server."""
    folder = tmp_path_factory.mktemp("desk")
    with serve_demo(folder, smtp_port=mail_server[0]) as url:
        yield url, f"sqlite:///{folder / 'live.db'}"


def _today_visits(db_url: str) -> dict[str, object]:
    """Two visits on today's diary at the first location: one that began 20 minutes ago (the patient has not
    come), one in half an hour (the patient is at the desk); and a patient to put on the waitlist."""
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine)() as db:
            org = db.scalars(select(Organization).where(Organization.is_demo)).one()
            loc = db.scalars(select(Location).where(Location.organization_id == org.id).order_by(Location.name)).first()
            pracs = db.scalars(select(Practitioner).where(Practitioner.role.in_(("surgeon", "sports_physician")))
                               .order_by(Practitioner.family_name)).all()
            with_accounts = select(UserAccount.patient_id).where(UserAccount.patient_id.is_not(None))
            people = db.scalars(select(Patient).where(Patient.email.is_not(None), Patient.id.not_in(with_accounts))
                                .order_by(Patient.family_name, Patient.given_name)).all()
            late, here, waiting, booked = people[0], people[1], people[2], people[3]
            now = datetime.now(UTC).replace(second=0, microsecond=0)
            visits = {"late": (late, pracs[0], now - timedelta(minutes=20)),
                      "here": (here, pracs[1], now + timedelta(minutes=30))}
            for patient, prac, start in visits.values():
                db.add(Appointment(patient_id=patient.id, practitioner_id=prac.id, location_id=loc.id,
                                   service_type="follow_up", status="booked", start=start,
                                   end=start + timedelta(minutes=20), reason="front desk walk"))
            db.commit()
            return {"location": str(loc.id), "waiting": waiting, "waiting_id": str(waiting.id),
                    "late": visits["late"][2].astimezone(LONDON).strftime("%H:%M"),
                    "here": visits["here"][2].astimezone(LONDON).strftime("%H:%M"),
                    "today": now.astimezone(LONDON).date(), "late_name": late.display_name,
                    "here_name": here.display_name, "booked": booked}
    finally:
        engine.dispose()


def test_receptionist_books_from_the_grid_checks_in_marks_dna_and_fills_a_waitlist_slot(
        browser, desk_server, mail_inbox):  # type: ignore[no-untyped-def]
    url, db_url = desk_server
    seeded = _today_visits(db_url)
    context = browser.new_context(base_url=url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page, "reception@demo.hindfoot.local")
    expect(page).to_have_url(re.compile(r"/calendar/grid"))  # the front desk starts with the day's grid
    expect(page.get_by_role("link", name="Outcomes")).to_have_count(0)  # no registry for the desk

    # 1. book from the grid: the first day in the next fortnight with a free consultation time
    for offset in range(1, 15):
        day: date = seeded["today"] + timedelta(days=offset)  # type: ignore[operator]
        page.goto(f"/calendar/grid?day={day.isoformat()}&location_id={seeded['location']}&service=new_consultation")
        if page.locator("a.slot-free").count():
            break
    page.locator("a.slot-free").first.click()
    expect(page.get_by_role("button", name="Book for this patient")).to_be_visible()
    booked_for: Patient = seeded["booked"]  # type: ignore[assignment]
    page.get_by_label("Find the patient").fill(booked_for.family_name)  # found by typing, not in a list of all
    page.wait_for_selector(f"select[name=patient_choice] option[value='{booked_for.id}']", state="attached")
    page.get_by_label("Patient", exact=True).select_option(str(booked_for.id))
    page.get_by_role("button", name="Book for this patient").click()
    expect(page).to_have_url(re.compile(r"/appointments/[0-9a-f-]+\?done=confirmed"))
    booked_url = page.url
    appt_id = booked_url.split("/appointments/")[1].split("?")[0]

    # 1b. drag it onto another free time on that day's grid (checked like a booking, the patient is told)
    page.goto(f"/calendar/grid?day={day.isoformat()}&location_id={seeded['location']}&service=new_consultation")
    before = page.locator(f'td[data-move="{appt_id}"]')
    expect(before).to_have_count(1)
    page.locator(f'td[data-move="{appt_id}"]').drag_to(page.locator("td.grid-free").last)
    expect(page.get_by_role("status")).to_contain_text("Moved; the patient is emailed the new time")
    expect(page.locator(f'td[data-move="{appt_id}"]')).to_have_count(1)

    # 2. check the patient in and 3. mark the other a did-not-attend, on today's grid
    page.goto(f"/calendar/grid?day={seeded['today'].isoformat()}&location_id={seeded['location']}")  # type: ignore[attr-defined]
    page.get_by_role("button", name=f"Arrived {seeded['here']}").click()
    expect(page.locator("td.appt-arrived")).to_contain_text(str(seeded["here_name"]))
    expect(page.locator("table.day-grid")).to_contain_text(str(seeded["late_name"]))
    page.get_by_role("button", name=f"Did not attend {seeded['late']}").click()
    expect(page.locator("table.day-grid")).not_to_contain_text(str(seeded["late_name"]))  # the time is free again
    page.goto("/calendar/no-shows")
    expect(page.locator("body")).to_contain_text(str(seeded["late_name"]))

    # 4. a patient waits for a consultation: found by typing part of their name
    waiting: Patient = seeded["waiting"]  # type: ignore[assignment]
    page.goto("/waitlist")
    page.get_by_label("Find the patient").fill(waiting.family_name[:5])
    page.wait_for_selector(f"#w-patient_id option[value='{seeded['waiting_id']}']", state="attached")
    page.get_by_label("Patient", exact=True).select_option(str(seeded["waiting_id"]))
    page.get_by_label("Appointment").select_option("new_consultation")
    page.get_by_role("button", name="Add to the waitlist").click()
    expect(page.get_by_role("status")).to_contain_text("Added to the waitlist")
    expect(page.locator("table.waitlist")).to_contain_text(waiting.display_name)

    # 5. the booking from the grid is cancelled: its time goes to the waiting patient, who claims it
    mail_inbox.clear()
    page.goto(booked_url)
    page.get_by_role("button", name="Cancel appointment").click()
    expect(page.get_by_role("status")).to_contain_text("cancelled")
    offer = wait_for_mail(mail_inbox, waiting.email, "A time has come free")
    link = re.search(r"http://\S+(/waitlist/offers/[A-Za-z0-9_-]+)", offer.get_content()).group(1)
    patient = browser.new_context(base_url=url).new_page()
    patient.goto(link)
    expect(patient.get_by_role("heading", level=1)).to_have_text("A time has come free")
    patient.get_by_role("button", name="Book this time").click()
    expect(patient.get_by_role("heading", level=1)).to_have_text("Booked")
    wait_for_mail(mail_inbox, waiting.email, "Appointment confirmed")
    page.goto("/waitlist")
    expect(page.locator("table.waitlist")).not_to_contain_text(waiting.display_name)  # booked: off the list
    patient.context.close()
    context.close()
