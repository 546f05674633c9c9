"""The Content-Security-Policy holds in Chromium: no page of any role trips it (no inline script or
style element, nothing from elsewhere), including the htmx-driven parts of the record and decision
support."""

from __future__ import annotations

import re

from browsing import sign_in

PUBLIC = ["/", "/check", "/book", "/login", "/password/forgot", "/sources"]
ROLES = {
    "patient@demo.hindfoot.local": ["/me", "/questionnaires", "/my/recovery-plan", "/appointments", "/account", "/me/data",
                                    "/me/data/summary"],
    "surgeon@demo.hindfoot.local": ["/patients", "/patients/new", "/calendar", "/calendar/no-shows", "/calendar/rota",
                                    "/calendar/series", "/outcomes", "/recovery/behind", "/account", "/account/password",
                                    "/account/passkeys"],
    "admin@demo.hindfoot.local": ["/admin/audit", "/admin/staff", "/calendar/services", "/calendar/locations",
                                  "/admin/data-requests"],
}


def _watch(page) -> list[str]:  # type: ignore[no-untyped-def]
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: seen.append(f"page error: {e}"))
    return seen


def test_no_page_violates_the_content_security_policy(browser, live_server):
    visited = 0
    for email, paths in [(None, PUBLIC), *ROLES.items()]:
        context = browser.new_context(base_url=live_server)
        context.set_default_timeout(30_000)  # the machine may be busy
        page = context.new_page()
        seen = _watch(page)
        if email:
            sign_in(page, email)
        for path in paths:
            response = page.goto(path)
            assert response is not None and response.status == 200, path
            assert "script-src 'self'" in response.headers["content-security-policy"]
            page.wait_for_load_state("networkidle")
            visited += 1
        if email == "surgeon@demo.hindfoot.local":
            # a record (timeline, pathway panel over htmx) and its decision support, with a recalculation
            page.goto("/patients")
            page.locator("a[href^='/patients/']").filter(has_not_text="new").first.click()
            page.wait_for_load_state("networkidle")
            record = page.url
            page.goto(re.sub(r"/?$", "/assessment", record))
            page.wait_for_load_state("networkidle")
            recalc = page.get_by_role("button", name="Recalculate")
            if recalc.count():
                recalc.first.click()
                page.wait_for_load_state("networkidle")
            visited += 2
        assert seen == [], f"{email or 'anonymous'}: {seen}"
        context.close()
    assert visited >= 27
