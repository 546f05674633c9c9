"""Every link a page shows leads somewhere the signed-in role may go: the demo clinic crawled as an
administrator, a clinician, a receptionist, a clinic manager and a patient, following only the links each
page shows (a manager's rota used to link to the calendar, which answers 403 for a manager)."""

from __future__ import annotations

from datetime import date

import pytest
from crawling import crawl as _crawl
from crawling import kind as _kind
from factories import login
from fastapi.testclient import TestClient

from hindfoot.demo.cast import DEMO_EMAIL_DOMAIN, DEMO_PASSWORD
from hindfoot.demo.loader import load_demo

# the pages each role's own navigation starts from (its landing page and account pages)
ROLES = {
    "admin": ["/", "/me", "/account/mfa"],
    "surgeon": ["/", "/me", "/account/mfa"],
    "reception": ["/", "/me", "/account/mfa"],
    "manager": ["/", "/me", "/account/mfa"],
    "patient": ["/", "/me", "/account/mfa"],
}


@pytest.mark.parametrize("who", list(ROLES))
def test_no_link_a_role_is_shown_leads_to_a_403_or_404(app, db, who):
    load_demo(db, date.today())
    db.commit()
    with TestClient(app) as client:
        login(client, f"{who}@{DEMO_EMAIL_DOMAIN}", DEMO_PASSWORD)
        statuses = _crawl(client, ROLES[who], limit=300)
    broken = {url: s for url, s in statuses.items() if s >= 400}
    assert not broken, broken
    assert len({_kind(u) for u in statuses}) >= (5 if who == "patient" else 10), sorted(statuses)
    if who == "manager":  # the rota, services and locations are the manager's; the calendar is not
        assert "/calendar/rota" in statuses and "/calendar" not in statuses, sorted(statuses)
