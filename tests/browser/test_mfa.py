"""A staff member turns on two-step sign-in in Chromium (QR code, authenticator code, recovery codes),
then signs in with a code and once with a recovery code; the pages trip no Content-Security-Policy."""

from __future__ import annotations

import time

import pyotp
from browsing import sign_in
from playwright.sync_api import expect

EMAIL = "nurse@demo.hindfoot.local"  # no other browser test signs in as the nurse


def _sign_out(page) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("navigation", name="Main").get_by_role("button", name="Sign out").click()
    page.wait_for_load_state("networkidle")


def test_staff_enrol_in_mfa_and_sign_in_with_a_code(page):
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    sign_in(page, EMAIL)
    page.get_by_role("link", name="Account").click()
    page.get_by_role("link", name="Two-step sign-in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-step sign-in")
    qr = page.get_by_role("img", name="QR code for your authenticator app")
    expect(qr).to_be_visible()
    assert page.evaluate("img => img.naturalWidth > 0", qr.element_handle())  # the data: URI image loaded
    totp = pyotp.TOTP(page.locator("#mfa-secret").inner_text())
    page.get_by_label("Code").fill(totp.now())
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
    codes = page.locator(".recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="I have kept them: continue").click()
    _sign_out(page)

    sign_in(page, EMAIL)  # password first, then the code
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-step sign-in")
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text("That code is not right")
    page.get_by_label("Code").fill(totp.at(time.time() + 30))  # the enrolment spent this step's code
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Sign out")
    _sign_out(page)

    sign_in(page, EMAIL)
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Sign out")
    assert violations == []
