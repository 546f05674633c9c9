"""Helpers for the real-browser tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import uvicorn

from hindfoot.app import create_app
from hindfoot.db.engine import make_engine, make_sessionmaker
from hindfoot.db.migrate import upgrade
from hindfoot.db.session import unit_of_work
from hindfoot.settings import Settings

DEMO_PASSWORD = "hindfoot-demo"


def sign_in(page, email: str, password: str = DEMO_PASSWORD) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


def wait_for_mail(inbox: list, to: str, subject: str, timeout: float = 10.0):  # type: ignore[no-untyped-def]
    """The first message to `to` whose subject contains `subject`, once the live app has sent it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in list(inbox):
            if message["To"] == to and subject in message["Subject"]:
                return message
        time.sleep(0.1)
    raise AssertionError(f"no e-mail {subject!r} to {to}: {[m['Subject'] for m in inbox]}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_demo(folder: Path, *, smtp_port: int = 1025) -> Iterator[str]:
    """Migrate a fresh SQLite file, load the demo clinic and serve it with uvicorn."""
    from hindfoot.demo.loader import load_demo

    url = f"sqlite:///{folder / 'live.db'}"
    upgrade(url)
    engine = make_engine(url)
    with unit_of_work(make_sessionmaker(engine)) as session:
        load_demo(session, date.today())
    engine.dispose()
    port = _free_port()
    # links in emails, and the passkeys' relying party (WebAuthn refuses an IP address), name `localhost`
    settings = Settings(environment="test", database_url=url, secret_key="browser-secret-" + "y" * 32,
                        smtp_port=smtp_port, base_url=f"http://localhost:{port}")
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
