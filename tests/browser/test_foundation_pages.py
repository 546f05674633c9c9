"""Every page group of the foundation, in real headless Chromium against the demo clinic."""

from __future__ import annotations

import re

from browsing import DEMO_PASSWORD, sign_in, wait_for_mail
from playwright.sync_api import expect


def test_home_page_explains_and_lists_locations(page):
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Pain at the back of the ankle")
    expect(page.get_by_role("heading", name="Our locations")).to_be_visible()
    expect(page.locator(".locations li")).to_have_count(3)
    expect(page.get_by_role("contentinfo")).to_contain_text("not a diagnosis")


def test_login_page_lists_demo_accounts_and_signs_in(page):
    page.goto("/login")
    emails = page.locator("code.demo-email").all_inner_texts()
    assert len(emails) >= 4
    assert any(e.startswith("admin@") for e in emails)
    sign_in(page, "surgeon@demo.hindfoot.local", "wrong password")
    expect(page.get_by_role("alert")).to_have_text("Email or password is wrong.")
    sign_in(page, "surgeon@demo.hindfoot.local")
    expect(page).to_have_url(re.compile(r"/today$"))  # a clinician lands on their clinic today
    expect(page.get_by_role("heading", level=1)).to_contain_text("My clinic today")


def test_clinician_searches_and_filters_patient_list(page):
    sign_in(page, "surgeon@demo.hindfoot.local")
    page.goto("/patients")
    total_before = int(page.locator("#result-count").inner_text().split()[0])
    assert total_before >= 40
    page.get_by_label("Pathway stage").select_option("post_op")
    expect(page).to_have_url(re.compile(r"stage=post_op"))
    rows = page.locator("#patient-table tbody tr")
    expect(rows.first.locator(".stage")).to_have_text("Post-op")
    for stage in rows.locator(".stage").all_inner_texts():
        assert stage == "Post-op"
    first_name = rows.first.locator("td a").inner_text().split(",")[0]
    page.get_by_label("Pathway stage").select_option("")
    expect(page.locator("#result-count")).to_have_text(re.compile(rf"^{total_before} patients"))
    page.get_by_label("Search name, record number, email or sport").fill(first_name)
    expect(page).to_have_url(re.compile(rf"q={first_name}"))
    expect(page.locator("#result-count")).not_to_have_text(re.compile(rf"^{total_before} patients"))
    expect(page.locator("#patient-table tbody tr").first).to_contain_text(first_name)
    assert int(page.locator("#result-count").inner_text().split()[0]) < total_before


def test_clinician_opens_a_record_with_its_timeline(page):
    sign_in(page, "surgeon@demo.hindfoot.local")
    page.goto("/patients?stage=rehabilitation")
    page.locator("#patient-table tbody tr td a").first.click()
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    assert page.locator(".timeline li").count() >= 5
    expect(page.get_by_role("heading", name="Procedures")).to_be_visible()
    expect(page.locator("[aria-current=step]")).to_have_text("Rehabilitation")


def test_patient_sees_own_record_and_not_the_patient_list(page):
    sign_in(page, "patient@demo.hindfoot.local")
    expect(page).to_have_url(re.compile(r"/patients/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    page.goto("/patients")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")


def test_admin_reads_the_audit_log_with_denials(page):
    sign_in(page, "patient@demo.hindfoot.local")
    page.goto("/patients/00000000-0000-0000-0000-000000000001")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    page.get_by_role("button", name=re.compile("Sign out")).click()
    sign_in(page, "admin@demo.hindfoot.local")
    page.goto("/admin/audit")
    page.get_by_label("Outcome").select_option("4")
    page.get_by_role("button", name="Filter").click()
    first = page.locator("table.audit tbody tr").first
    expect(first).to_contain_text("patient@demo.hindfoot.local")
    expect(first).to_contain_text("denied")


def test_pages_fit_a_phone_and_every_control_is_labelled(phone):
    phone.goto("/patients?stage=rehabilitation")  # signed out: redirected to sign in
    sign_in(phone, "surgeon@demo.hindfoot.local")
    phone.goto("/patients?stage=rehabilitation")
    record = phone.locator("#patient-table tbody tr td a").first.get_attribute("href")
    phone.get_by_role("button", name=re.compile("Sign out")).click()
    signed_out = ("/login", "/password/forgot", "/check", "/book")
    clinician = ("/", "/patients", "/patients/new", record, f"{record}/assessment", "/calendar", "/calendar/rota",
                 "/outcomes", "/account/password")
    admin = ("/admin/staff", "/admin/audit")
    for path in (*signed_out, *clinician, *admin):
        if path == clinician[0]:
            sign_in(phone, "surgeon@demo.hindfoot.local")
        if path == admin[0]:
            phone.get_by_role("button", name=re.compile("Sign out")).click()
            sign_in(phone, "admin@demo.hindfoot.local")
        response = phone.goto(path)
        assert response is not None and response.ok, f"{path}: {response.status if response else 'no answer'}"
        phone.wait_for_load_state("networkidle")
        # a mobile browser zooms out to fit a page that is too wide, so measure against the device width
        overflow = phone.evaluate("document.documentElement.scrollWidth") - phone.viewport_size["width"]
        assert overflow <= 1, f"{path} is wider than a phone by {overflow}px"
        unlabelled = phone.evaluate(
            """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                 .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
                 .map(el => el.name)"""
        )
        assert unlabelled == [], f"{path} has unlabelled controls {unlabelled}"
        assert phone.locator("main").count() == 1
        assert phone.locator("header nav").count() == 1


def test_keyboard_user_can_skip_to_content(page):
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_forgotten_password_link_and_the_sign_in_lock(page):
    page.goto("/login")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Forgot your password?")
    page.get_by_label("Email").fill("patient@demo.hindfoot.local")
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_role("status")).to_contain_text("If an account uses patient@demo.hindfoot.local")
    # five failed sign-ins lock an email (any email, so a lock reveals no accounts)
    for _ in range(5):
        sign_in(page, "locked-out@example.org", "wrong password")
        expect(page.get_by_role("alert")).to_have_text("Email or password is wrong.")
    sign_in(page, "locked-out@example.org", "wrong password")
    expect(page.get_by_role("alert")).to_have_text("Too many failed sign-ins for this email: try again in 15 minutes.")
    expect(page.get_by_label("Email")).to_have_value("locked-out@example.org")


def test_a_reset_link_sets_a_new_password_which_the_account_page_changes_back(page, mail_inbox):
    email, new = "radiologist@demo.hindfoot.local", "radiology-reads-the-films"  # an account no other test uses
    page.goto("/password/forgot")
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_role("status")).to_contain_text(f"If an account uses {email}")
    link = re.search(r"http://\S+(/password/reset\?token=\S+)", wait_for_mail(mail_inbox, email, "Reset").get_content())
    page.goto(link.group(1))  # the path: the live server is not at the configured base URL
    page.get_by_label("New password (at least 10 characters)").fill(new)
    page.get_by_label("New password again").fill(new)
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("status")).to_have_text("Your new password is set. Sign in with it.")
    sign_in(page, email, DEMO_PASSWORD)
    expect(page.get_by_role("alert")).to_have_text("Email or password is wrong.")
    sign_in(page, email, new)
    page.get_by_role("link", name="Account").click()
    page.get_by_role("link", name="Change your password").click()
    page.get_by_label("Current password").fill(new)
    page.get_by_label("New password (at least 10 characters)").fill(DEMO_PASSWORD)
    page.get_by_label("New password again").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_have_text("Your new password is set.")
    page.get_by_role("button", name=re.compile("Sign out")).click()
    sign_in(page, email, DEMO_PASSWORD)  # back as it was, for anyone else
    expect(page.get_by_role("link", name="Account")).to_be_visible()
