"""The one form pattern, in Chromium, on each remaining form: a refused form comes back with the problem
next to its field (and in the summary), and everything typed is still there (never a password or a code).
Nothing here is saved (each form is refused, so the shared demo database is unchanged), except that the
clinic manager, whom no other browser test signs in as, turns on two-step sign-in to reach its code form."""

from __future__ import annotations

import re
import time
from datetime import date, timedelta

import pyotp
from browsing import DEMO_PASSWORD, sign_in
from playwright.sync_api import Page, expect


def _field_error(page: Page, field_id: str, text: str) -> None:
    expect(page.locator(f"#{field_id}-error")).to_contain_text(text)
    expect(page.locator(f"#{field_id}")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".error-summary")).to_contain_text(text)


def test_rota_service_location_series_and_waitlist_forms_keep_input_and_name_the_field(page: Page) -> None:
    sign_in(page, "admin@demo.hindfoot.local")

    # weekly opening: ends before it starts
    page.goto("/calendar/rota")
    page.locator("#r-practitioner_id").select_option(index=1)
    chosen = page.locator("#r-practitioner_id").input_value()
    page.locator("#r-location_id").select_option(index=1)
    page.locator("#r-weekday").select_option("6")
    page.locator("#r-start").fill("13:00")
    page.locator("#r-end").fill("09:00")
    page.locator('form[action="/calendar/rota/rules"]').get_by_role("button", name="Add").click()
    _field_error(page, "r-end", "must end after it starts")
    expect(page.locator("#r-start")).to_have_value("13:00")
    expect(page.locator("#r-practitioner_id")).to_have_value(chosen)
    expect(page.locator("#r-weekday")).to_have_value("6")

    # leave: no start, the reason kept
    page.locator("#e-end").fill("2030-01-02T17:00")
    page.locator("#e-reason").fill("Conference in Leeds")
    page.locator('form[action="/calendar/rota/exceptions"]').get_by_role("button", name="Add").click()
    _field_error(page, "e-start", "enter a date and time")
    expect(page.locator("#e-reason")).to_have_value("Conference in Leeds")
    expect(page.locator("#e-end")).to_have_value("2030-01-02T17:00")

    # a new service three minutes long
    page.goto("/calendar/services")
    page.locator("#svc-new-code").fill("gait_analysis")
    page.locator("#svc-new-name").fill("Gait analysis")
    page.locator("#svc-new-duration_minutes").fill("3")
    page.locator("#svc-new-description").fill("Running on a treadmill, filmed.")
    page.get_by_role("button", name="Add service").click()
    _field_error(page, "svc-new-duration_minutes", "minutes")
    expect(page.locator("#svc-new-name")).to_have_value("Gait analysis")
    expect(page.locator("#svc-new-description")).to_have_value("Running on a treadmill, filmed.")

    # a new location without a name
    page.goto("/calendar/locations")
    page.locator("#loc-new-address_line").fill("12 New Street")
    page.locator("#loc-new-postcode").fill("W1 2BB")
    page.get_by_role("button", name="Add location").click()
    _field_error(page, "loc-new-name", "name")
    expect(page.locator("#loc-new-address_line")).to_have_value("12 New Street")
    expect(page.locator("#loc-new-postcode")).to_have_value("W1 2BB")

    # a series without a patient
    page.goto("/calendar/series")
    page.locator("#s-first_date").fill("2030-03-04")
    page.locator("#s-count").fill("4")
    page.get_by_role("button", name="Check dates").click()
    _field_error(page, "s-patient_id", "patient")
    expect(page.locator("#s-first_date")).to_have_value("2030-03-04")
    expect(page.locator("#s-count")).to_have_value("4")

    # the waitlist without the appointment chosen
    page.goto("/waitlist")
    page.locator("#w-note").fill("Mornings only, please")
    page.locator("#w-earliest").fill("2030-05-01")
    page.get_by_role("button", name="Add to the waitlist").click()
    _field_error(page, "w-service", "appointment")
    expect(page.locator("#w-note")).to_have_value("Mornings only, please")
    expect(page.locator("#w-earliest")).to_have_value("2030-05-01")


def test_sign_in_and_password_forms_name_the_field_and_keep_the_email(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill("admin@demo.hindfoot.local")
    page.get_by_role("button", name="Sign in").click()
    _field_error(page, "password", "Enter your password")
    expect(page.get_by_label("Email")).to_have_value("admin@demo.hindfoot.local")
    expect(page.get_by_label("Password")).to_have_value("")

    page.goto("/password/forgot")
    page.get_by_role("button", name="Email me a link").click()
    _field_error(page, "email", "Enter your email")

    sign_in(page, "nurse@demo.hindfoot.local")
    page.goto("/account/password")
    page.get_by_label("Current password").fill("not-my-password")
    page.get_by_label("New password (at least 10 characters)").fill("a-new-password-1")
    page.get_by_label("New password again").fill("a-new-password-1")
    page.get_by_role("button", name="Change password").click()
    _field_error(page, "current_password", "the current password is wrong")
    page.get_by_label("Current password").fill(DEMO_PASSWORD)
    page.get_by_label("New password (at least 10 characters)").fill("a-new-password-1")
    page.get_by_label("New password again").fill("a-new-password-2")
    page.get_by_role("button", name="Change password").click()
    _field_error(page, "confirm", "the two new passwords differ")


def test_two_step_code_forms_name_the_code_field_and_never_type_the_code_back(page: Page) -> None:
    manager = "manager@demo.hindfoot.local"
    sign_in(page, manager)
    page.goto("/account/mfa")  # setting it up: the code form of the account page
    page.get_by_role("button", name="Turn on two-step sign-in").click()  # nothing typed (the browser would stop it)
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-step sign-in")
    page.get_by_label("Code").evaluate("el => el.removeAttribute('required')")
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    _field_error(page, "code", "Enter the code from your authenticator app")
    page.get_by_label("Code").fill("123")
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    _field_error(page, "code", "That code is not right")
    expect(page.get_by_label("Code")).to_have_value("")  # a code is never typed back in
    totp = pyotp.TOTP(page.locator("#mfa-secret").inner_text())
    page.get_by_label("Code").fill(totp.now())
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
    page.get_by_role("navigation", name="Main").get_by_role("button", name="Sign out").click()
    page.wait_for_load_state("networkidle")

    # signing in: the second step (/login/mfa) keeps where the person was going
    page.goto("/login?next=/calendar/rota")
    page.get_by_label("Email").fill(manager)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-step sign-in")
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Continue").click()
    _field_error(page, "code", "That code is not right")
    expect(page.get_by_label("Code")).to_have_value("")
    page.get_by_label("Code").fill(totp.at(time.time() + 30))  # the set-up spent this step's code
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/calendar/rota$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Weekly rota")


def test_symptom_check_start_names_the_field_and_keeps_the_choices(page: Page) -> None:
    page.goto("/check")
    page.get_by_label("Age (years)").fill("two hundred")
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Main sport or activity").select_option(index=2)
    sport = page.get_by_label("Main sport or activity").input_value()
    page.get_by_label("Which ankle?").select_option("left")
    page.get_by_role("button", name="Start the questions").click()
    _field_error(page, "age", "Age: enter your age in years")
    expect(page.get_by_label("Age (years)")).to_have_value("two hundred")
    expect(page.get_by_label("Sex")).to_have_value("female")
    expect(page.get_by_label("Main sport or activity")).to_have_value(sport)
    expect(page.get_by_label("Which ankle?")).to_have_value("left")
    page.locator(".error-summary a").click()  # the summary leads to the field
    expect(page.get_by_label("Age (years)")).to_be_focused()


def test_cancelling_with_a_too_long_reason_names_it_and_keeps_it(page: Page) -> None:
    sign_in(page, "reception@demo.hindfoot.local")
    page.goto("/calendar")
    links = page.locator('a[href^="/appointments/"]').evaluate_all("els => els.map(e => e.getAttribute('href'))")
    for href in dict.fromkeys(links):
        page.goto(href)
        if page.get_by_role("button", name="Cancel appointment").count():
            break
    else:
        raise AssertionError("no appointment on the calendar can be cancelled")
    reason = "The patient rang to say " + "she is away on tour " * 15
    page.get_by_label("Reason for cancelling").evaluate("el => el.removeAttribute('maxlength')")
    page.get_by_label("Reason for cancelling").fill(reason)
    page.get_by_role("button", name="Cancel appointment").click()
    _field_error(page, "cancel-reason", "Reason for cancelling: at most 300 characters")
    expect(page.get_by_label("Reason for cancelling")).to_have_value(reason.strip())
    expect(page.locator(".appt-status")).not_to_contain_text(re.compile("cancel", re.I))  # nothing was cancelled


def test_registering_an_app_names_each_field_and_keeps_what_was_typed(page: Page) -> None:
    sign_in(page, "admin@demo.hindfoot.local")
    page.goto("/admin/apps")
    page.get_by_label("Kind").select_option("smart-app")
    page.get_by_label("Client id").fill("growth-charts")
    page.get_by_label("Launch URL").fill("https://charts.example/launch")
    page.locator("#app-scope").fill("patient/*.rs")
    page.get_by_label("Name", exact=True).evaluate("el => el.removeAttribute('required')")  # past the browser's check
    page.get_by_role("button", name="Register").click()
    _field_error(page, "app-name", "Enter the name")
    expect(page.get_by_label("Client id")).to_have_value("growth-charts")
    expect(page.get_by_label("Launch URL")).to_have_value("https://charts.example/launch")
    page.get_by_label("Name", exact=True).fill("Growth charts")
    page.get_by_role("button", name="Register").click()  # no redirect URI
    _field_error(page, "app-redirect_uris", "Redirect URIs: a SMART app needs at least one redirect URI")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Growth charts")
    expect(page.locator("#app-scope")).to_have_value("patient/*.rs")
    expect(page.get_by_role("table")).not_to_contain_text("growth-charts")  # nothing registered


def _open_panel(page: Page, stage: str, sport: str):  # type: ignore[no-untyped-def]
    page.goto(f"/patients?stage={stage}&q={sport}")
    page.locator("#patient-table tbody tr").first.locator("td a").click()
    panel = page.locator(".pathway-panel")
    expect(panel.get_by_role("heading", name="What comes next, and why")).to_be_visible()
    return panel, (panel.get_attribute("id") or "").removeprefix("pathway-")


def _past_the_browser(page: Page, field_id: str, js: str) -> None:
    """Lift the browser's own check (maxlength, max, type=date) so the server's answer is what is tested."""
    page.locator(f"#{field_id}").evaluate(js)


def test_care_pathway_panel_forms_name_the_field_and_keep_what_was_typed(page: Page) -> None:
    sign_in(page, "surgeon@demo.hindfoot.local")
    panel, ep = _open_panel(page, "conservative_care", "cricket")
    stage = panel.locator("[data-stage]").inner_text()
    long_note = "No lasting relief after the injection and twelve weeks of loading. " * 32

    # failed conservative care: a note over 2000 characters
    _past_the_browser(page, f"failed-{ep}-note", "el => el.removeAttribute('maxlength')")
    panel.get_by_label("Conservative care has failed because").fill(long_note)
    panel.get_by_role("button", name="Document failed conservative care").click()
    _field_error(page, f"failed-{ep}-note", "Conservative care has failed because: at most 2000 characters")
    expect(panel.locator(".error-summary")).to_be_focused()  # swapped in by htmx, and read out first
    expect(panel.get_by_label("Conservative care has failed because")).to_have_value(long_note)
    expect(panel.locator(".fact-list")).not_to_contain_text("documented as failed")
    page.locator(".error-summary a").click()  # the summary leads to the field
    expect(page.locator(f"#failed-{ep}-note")).to_be_focused()

    # consent: a note over 2000 characters
    _past_the_browser(page, f"consent-{ep}-note", "el => el.removeAttribute('maxlength')")
    panel.get_by_label("Consent note (risks discussed)").fill(long_note)
    panel.get_by_role("button", name="Record consent for surgery").click()
    _field_error(page, f"consent-{ep}-note", "Consent note: at most 2000 characters")
    expect(panel.get_by_label("Consent note (risks discussed)")).to_have_value(long_note)
    expect(panel.locator(".fact-list")).to_contain_text("Consent for surgery not recorded")
    expect(page.locator(f"#failed-{ep}-note")).to_have_value("")  # only the refused form keeps its text

    # return to sport: a day still to come, then an unreadable one
    later = (date.today() + timedelta(days=4)).isoformat()
    _past_the_browser(page, f"rts-{ep}-on", "el => el.removeAttribute('max')")
    panel.get_by_label("Return to sport", exact=True).select_option("returned_lower_level")
    page.locator(f"#rts-{ep}-on").fill(later)
    panel.get_by_role("button", name="Document return to sport").click()
    _field_error(page, f"rts-{ep}-on", "Date returned: return to sport cannot be dated in the future")
    expect(page.locator(f"#rts-{ep}-on")).to_have_value(later)
    expect(panel.get_by_label("Return to sport", exact=True)).to_have_value("returned_lower_level")
    _past_the_browser(page, f"rts-{ep}-on", "el => el.setAttribute('type', 'text')")
    page.locator(f"#rts-{ep}-on").fill("last Tuesday")
    panel.get_by_role("button", name="Document return to sport").click()
    _field_error(page, f"rts-{ep}-on", "Date returned: enter a real date")

    # a move with a too-long note
    move = f"move-discharged-{ep}-reason"
    _past_the_browser(page, move, "el => el.removeAttribute('maxlength')")
    page.locator(f"#{move}").fill(long_note)
    panel.get_by_role("button", name="Move to Discharged").click()
    _field_error(page, move, "at most 2000 characters")
    expect(page.locator(f"#{move}")).to_have_value(long_note)

    # a recovery plan from an unreadable start, the choices kept
    _past_the_browser(page, f"plan-{ep}-start", "el => el.setAttribute('type', 'text')")
    level = "competitive" if panel.get_by_label("Level").input_value() != "competitive" else "professional"
    panel.get_by_label("Level").select_option(level)
    page.locator(f"#plan-{ep}-start").fill("31/02/2026")
    panel.get_by_role("button", name="Generate recovery plan").click()
    _field_error(page, f"plan-{ep}-start", "Start: enter a real date")
    # sent back as typed (a date input cannot show an unreadable day, so the attribute is what is kept)
    expect(page.locator(f"#plan-{ep}-start")).to_have_attribute("value", "31/02/2026")
    expect(panel.get_by_label("Level")).to_have_value(level)
    expect(panel.locator("[data-stage]")).to_have_text(stage)  # nothing moved, nothing recorded

    # the operation note of a listed patient: a day still to come
    panel, ep = _open_panel(page, "surgical_listing", "cricket")
    later = (date.today() + timedelta(days=2)).isoformat()
    _past_the_browser(page, f"proc-{ep}-performed_on", "el => el.removeAttribute('max')")
    page.locator(f"#proc-{ep}-performed_on").fill(later)
    panel.get_by_role("button", name="Record operation note").click()
    _field_error(page, f"proc-{ep}-performed_on", "Date of operation: a procedure cannot be recorded as done in the future")
    expect(page.locator(f"#proc-{ep}-performed_on")).to_have_value(later)
    expect(panel.locator(".fact-list")).to_contain_text("Operation note not recorded")
