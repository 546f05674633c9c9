"""An admin changes how long a service takes and patients see the new length when booking.

The browser tests share one demo database, so the change is undone at the end.
"""

from __future__ import annotations

from browsing import sign_in
from playwright.sync_api import Page, expect

SERVICE = "nurse_dressing"
NAME = "Wound check and dressing"


def _set_duration(page: Page, minutes: str) -> None:
    page.goto("/calendar/services")
    form = page.locator(f'form[action="/calendar/services/{SERVICE}"]')
    form.get_by_label("Length (minutes)").fill(minutes)
    form.get_by_role("button", name=f"Save {NAME}").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")


def test_admin_edits_a_service_duration_and_the_booking_page_follows(page: Page) -> None:
    sign_in(page, "admin@demo.hindfoot.local")
    page.goto("/calendar/rota")
    page.get_by_role("link", name="Services").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Services")
    form = page.locator(f'form[action="/calendar/services/{SERVICE}"]')
    expect(form.get_by_label("Length (minutes)")).to_have_value("20")
    try:
        form.get_by_label("Length (minutes)").fill("500")
        form.get_by_label("Length (minutes)").evaluate("el => el.removeAttribute('max')")  # let the server refuse it
        form.get_by_role("button", name=f"Save {NAME}").click()
        expect(page.get_by_role("alert")).to_contain_text("5 to 480 minutes")

        _set_duration(page, "35")
        expect(page.get_by_role("row", name=NAME)).to_contain_text("35 min")
        page.goto(f"/book?service={SERVICE}")
        expect(page.locator("#service option:checked")).to_have_text(f"{NAME} (35 min)")
        page.locator("a.slot").first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your appointment")
        expect(page.get_by_text(f"{NAME} (35 minutes)")).to_be_visible()
    finally:
        _set_duration(page, "20")
    page.goto(f"/book?service={SERVICE}")
    expect(page.locator("#service option:checked")).to_have_text(f"{NAME} (20 min)")
