"""The care pathway and recovery plans in a real browser.

The live server's demo clinic is shared by every browser test, so the clinician test works on
the one investigation-stage rugby player (no account, no other test uses them) and the patient
test only ticks a criterion and puts it back.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from browsing import sign_in
from icalendar import Calendar
from playwright.sync_api import expect


def test_clinician_takes_a_patient_from_conservative_care_to_surgery_and_plans_recovery(page):
    sign_in(page, "surgeon@demo.hindfoot.local")
    page.goto("/patients?stage=investigation&q=rugby")
    rows = page.locator("#patient-table tbody tr")
    expect(rows).to_have_count(1)
    family = rows.first.locator("td a").inner_text().split(",")[0]
    rows.first.locator("td a").click()

    panel = page.locator(".pathway-panel")
    expect(panel.get_by_role("heading", name="What comes next, and why")).to_be_visible()
    expect(panel.locator(".next-step .source").first).to_be_visible()  # each step cites its sources
    expect(panel.locator("[data-stage]")).to_have_text("Investigations")

    panel.get_by_role("button", name="Move to Conservative care").click()
    expect(panel.locator("[data-stage]")).to_have_text("Conservative care")
    listing = panel.get_by_role("button", name="Move to Listed for surgery")
    expect(listing).to_be_disabled()
    expect(panel.locator(".blocked-reasons").first).to_contain_text("diagnosis is not confirmed")

    panel.get_by_role("button", name="Confirm diagnosis").click()
    expect(panel.locator(".notice")).to_contain_text("Diagnosis confirmed")
    panel.get_by_label("Conservative care has failed because").fill("No lasting relief after 12 weeks")
    panel.get_by_role("button", name="Document failed conservative care").click()
    expect(panel.locator(".notice")).to_have_text("Documented.")
    panel.get_by_role("button", name="Move to Listed for surgery").click()
    expect(panel.locator("[data-stage]")).to_have_text("Listed for surgery")

    expect(panel.get_by_role("button", name="Move to Surgery")).to_be_disabled()
    expect(panel.locator(".blocked-reasons").first).to_contain_text("consent is not recorded")
    panel.get_by_label("Consent note (risks discussed)").fill("Sural nerve and infection risks discussed")
    panel.get_by_role("button", name="Record consent for surgery").click()
    expect(panel.locator(".fact-list")).to_contain_text("Consent for surgery recorded")
    panel.get_by_role("button", name="Move to Surgery").click()
    expect(panel.locator("[data-stage]")).to_have_text("Surgery")

    operated = date.today() - timedelta(days=70)  # documented late, so the plan starts in the past
    panel.get_by_label("Date of operation").fill(operated.isoformat())
    panel.get_by_role("button", name="Record operation note").click()
    expect(panel.locator(".notice")).to_contain_text("Operation recorded")
    panel.get_by_role("button", name="Move to Post-op").click()
    expect(panel.locator("[data-stage]")).to_have_text("Post-op")
    history = panel.locator(".pathway-history")
    history.locator("summary").click()
    expect(history.locator(".events li").first).to_contain_text("Post-op")

    expect(panel.get_by_label("Start (day of surgery, or first day of conservative care)")).to_have_value(
        operated.isoformat())
    panel.get_by_role("button", name="Generate recovery plan").click()
    expect(page).to_have_url(re.compile(r"/care-plans/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Recovery after")
    expect(page.locator(".today-marker")).to_be_visible()
    expect(page.locator(".milestone.next")).to_have_count(1)
    expect(page.locator(".range-note").first).to_contain_text("Sources differ")
    expect(page.locator(".plan-summary .behind")).to_be_visible()

    first = page.locator(".milestone:not(.done)").first
    code = first.get_attribute("data-code")
    # a day still to come is refused by the milestone's own date field, the date typed kept
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    page.locator(f"#reached-{code}").evaluate("el => el.removeAttribute('max')")
    page.locator(f"#reached-{code}").fill(tomorrow)
    first.get_by_role("button", name="Mark reached").click()
    expect(page.locator(f"#reached-{code}-error")).to_contain_text("Reached on:")
    expect(page.locator(f"#reached-{code}")).to_have_value(tomorrow)
    expect(page.locator(f"#reached-{code}")).to_have_attribute("aria-invalid", "true")
    page.locator(f"#reached-{code}").fill(date.today().isoformat())
    first.get_by_role("button", name="Mark reached").click()
    expect(page.locator("#plan-timeline .notice")).to_contain_text("Later dates updated")
    expect(page.locator(f"#ms-{code} .badge-done")).to_be_visible()

    page.get_by_role("link", name="Behind plan").click()
    row = page.locator(".behind-table tbody tr", has_text=family)
    expect(row).to_have_count(1)
    assert int(row.locator(".days-behind strong").inner_text()) > 0


def test_patient_ticks_a_criterion_and_downloads_the_calendar(page):
    sign_in(page, "patient@demo.hindfoot.local")
    page.get_by_role("link", name="My recovery plan").click()
    expect(page).to_have_url(re.compile(r"/care-plans/[0-9a-f-]{36}$"))
    expect(page.locator(".milestone.next")).to_have_count(1)
    expect(page.locator(".today-marker")).to_contain_text("Today")

    box = page.locator(".milestone.next .criterion input[type=checkbox]").first
    count = page.locator(".milestone.next .crit-count")
    before = count.inner_text()
    box.check()
    expect(count).not_to_have_text(before)
    page.reload()
    expect(page.locator(".milestone.next .criterion input[type=checkbox]").first).to_be_checked()
    page.locator(".milestone.next .criterion input[type=checkbox]").first.uncheck()  # leave the demo as found
    expect(page.locator(".milestone.next .crit-count")).to_have_text(before)

    milestones = page.locator(".milestone").count()
    with page.expect_download() as info:
        page.get_by_role("link", name="Add to calendar (.ics)").click()
    download = info.value
    assert download.suggested_filename.endswith(".ics")
    with open(download.path(), "rb") as fh:
        calendar = Calendar.from_ical(fh.read())
    events = calendar.walk("VEVENT")
    assert len(events) == milestones
    assert all(e.get("summary") for e in events)
