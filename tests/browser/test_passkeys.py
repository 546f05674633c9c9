"""A staff member adds a passkey in Chromium (a virtual WebAuthn authenticator, over the DevTools
protocol) after turning on two-step sign-in, then signs in with the password and the passkey instead
of a code; no page trips the Content-Security-Policy.

WebAuthn refuses an IP address as the relying party, so this test browses the live server as
`localhost`, the host of the server's HINDFOOT_BASE_URL here."""

from __future__ import annotations

import pyotp
from browsing import sign_in
from playwright.sync_api import expect

EMAIL = "physio2@demo.hindfoot.local"  # no other browser test signs in as the second physiotherapist


def _sign_out(page) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("navigation", name="Main").get_by_role("button", name="Sign out").click()
    page.wait_for_load_state("networkidle")


def test_staff_add_a_passkey_and_sign_in_with_it(browser, live_server):  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=live_server.replace("127.0.0.1", "localhost"))
    context.set_default_timeout(10_000)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        sign_in(page, EMAIL)
        page.goto("/account/passkeys")
        expect(page.get_by_text("Turn on two-step sign-in")).to_be_visible()  # a passkey is a second way
        page.goto("/account/mfa")
        page.get_by_label("Code").fill(pyotp.TOTP(page.locator("#mfa-secret").inner_text()).now())
        page.get_by_role("button", name="Turn on two-step sign-in").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
        page.goto("/account/mfa")
        page.get_by_role("link", name="Passkeys").click()
        page.get_by_label("Name it").fill("Work laptop")
        page.get_by_role("button", name="Add a passkey").click()
        expect(page.get_by_role("status")).to_contain_text("The passkey is added")
        expect(page.locator("ul.passkeys")).to_contain_text("Work laptop")
        _sign_out(page)

        sign_in(page, EMAIL)  # the password, then the passkey instead of a code
        expect(page.get_by_role("heading", level=1)).to_have_text("Two-step sign-in")
        page.get_by_role("button", name="Use a passkey").click()
        expect(page.get_by_role("navigation", name="Main")).to_contain_text("Sign out")
        page.goto("/account/passkeys")
        expect(page.locator("ul.passkeys")).to_contain_text("last used")
        assert violations == []
    finally:
        context.close()
