"""Every link a page shows leads somewhere the signed-in role may go: the demo clinic crawled as an
administrator, a clinician, a receptionist, a clinic manager and a patient, following only the links each
page shows (a manager's rota used to link to the calendar, which answers 403 for a manager)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from crawling import crawl as _crawl
from crawling import kind as _kind
from demo_copy import demo_clinic
from factories import login
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from hindfoot.app import create_app
from hindfoot.db.engine import make_sessionmaker
from hindfoot.db.session import unit_of_work
from hindfoot.demo.cast import DEMO_EMAIL_DOMAIN, DEMO_PASSWORD

# the pages each role's own navigation starts from (its landing page and account pages)
ROLES = {
    "admin": ["/", "/me", "/account/mfa"],
    "surgeon": ["/", "/me", "/account/mfa"],
    "reception": ["/", "/me", "/account/mfa"],
    "manager": ["/", "/me", "/account/mfa"],
    "patient": ["/", "/me", "/account/mfa"],
}


@pytest.fixture(scope="module")
def demo_app(database_url: str, engine: Engine) -> Iterator[FastAPI]:
    """The demo clinic, loaded once per database for the five crawls (they only follow links; a crawl
    adds sign-ins and audit entries, which no other crawl's links depend on), and emptied at the end."""
    from conftest import _wipe, app_settings

    with unit_of_work(make_sessionmaker(engine)) as session:
        demo_clinic(session, date.today())
    try:
        yield create_app(app_settings(database_url))
    finally:
        _wipe(engine)


@pytest.mark.parametrize("who", list(ROLES))
def test_no_link_a_role_is_shown_leads_to_a_403_or_404(demo_app: FastAPI, who: str) -> None:
    with TestClient(demo_app) as client:
        login(client, f"{who}@{DEMO_EMAIL_DOMAIN}", DEMO_PASSWORD)
        statuses = _crawl(client, ROLES[who], limit=300)
    broken = {url: s for url, s in statuses.items() if s >= 400}
    assert not broken, broken
    assert len({_kind(u) for u in statuses}) >= (5 if who == "patient" else 10), sorted(statuses)
    if who == "manager":  # the rota, services and locations are the manager's; the calendar is not
        assert "/calendar/rota" in statuses and "/calendar" not in statuses, sorted(statuses)
