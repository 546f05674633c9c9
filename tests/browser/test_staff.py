"""An admin adds a staff member in Chromium, the invitation goes out, and the member is deactivated.

The browser tests share one demo database: the new member has no rota and ends deactivated.
"""

from __future__ import annotations

from browsing import sign_in, wait_for_mail
from playwright.sync_api import Page, expect

EMAIL = "lena.marsh@clinic.example"


def test_admin_adds_and_deactivates_a_staff_member(page: Page, mail_inbox: list) -> None:
    sign_in(page, "admin@demo.hindfoot.local")
    page.get_by_role("link", name="Staff").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Staff")
    add = page.locator('form[action="/admin/staff"]')  # each member's row has an edit form with the same labels
    add.get_by_label("Given name").fill("Lena")
    add.get_by_label("Family name").fill("Marsh")
    add.get_by_label("Role").select_option("physiotherapist")
    add.get_by_label("Sign-in email").fill(EMAIL)
    add.get_by_role("button", name="Add and send the invitation").click()
    expect(page.get_by_role("status")).to_contain_text("Lena Marsh is added")
    row = page.locator(f'tr[data-staff="{EMAIL}"]')
    expect(row).to_contain_text("Physiotherapist")
    expect(row).to_contain_text("never")
    assert "choose your password" in wait_for_mail(mail_inbox, EMAIL, "Your hindfoot account").get_content()
    row.get_by_text("Edit").click()
    row.get_by_label("Qualification").fill("MCSP, locum")
    row.get_by_role("button", name="Save Lena Marsh").click()
    expect(page.get_by_role("status")).to_have_text("Lena Marsh: saved.")
    expect(page.locator(f'tr[data-staff="{EMAIL}"]')).to_contain_text("MCSP, locum")
    row = page.locator(f'tr[data-staff="{EMAIL}"]')
    row.get_by_role("button", name="Deactivate Lena Marsh").click()
    expect(page.get_by_role("status")).to_have_text(
        "Lena Marsh is deactivated: they can no longer sign in or be booked.")
    expect(page.locator(f'tr[data-staff="{EMAIL}"]')).to_contain_text("Deactivated")
