"""Real-browser fixtures: the app served by uvicorn on a free local port, driven by Playwright
in Debian's /usr/bin/chromium (never a downloaded browser build)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from browsing import serve_demo

CHROMIUM = os.environ.get("HINDFOOT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-quic", "--no-first-run",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def mail_server() -> Iterator[tuple[int, list]]:
    """A real local SMTP server the live app sends to; tests read what it received."""
    from smtp_server import smtp_server

    with smtp_server() as (port, inbox):
        yield port, inbox


@pytest.fixture
def mail_inbox(mail_server: tuple[int, list]) -> list:
    return mail_server[1]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, mail_server: tuple[int, list]) -> Iterator[str]:
    """The demo clinic on SQLite, served for real over HTTP (one database for the whole session)."""
    with serve_demo(tmp_path_factory.mktemp("live"), smtp_port=mail_server[0]) as url:
        yield url


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium", pytrace=False)
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield b
    b.close()
    pw.stop()


@pytest.fixture
def page(browser, live_server):  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    p = context.new_page()
    yield p
    context.close()


@pytest.fixture
def phone(browser, live_server):  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844},
                                  is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    p = context.new_page()
    yield p
    context.close()

