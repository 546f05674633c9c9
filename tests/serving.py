"""A real uvicorn server in a thread (for what TestClient cannot show: sockets, pools, races),
and a real server *process* (for several processes on one database)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx2
import uvicorn
from smtp_server import free_port

# The production argon2 cost (the settings' defaults), for servers whose sign-in load is the point of the
# test; the rest of the suite hashes at a test cost (conftest.py).
PRODUCTION_HASH_COST = {"HINDFOOT_PASSWORD_HASH_TIME_COST": "3", "HINDFOOT_PASSWORD_HASH_MEMORY_KIB": "65536",
                        "HINDFOOT_PASSWORD_HASH_PARALLELISM": "4"}


@contextmanager
def served(app, port: int | None = None, **config) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Serve `app` on a loopback port (a free one unless given); yields the base URL."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "server thread died"
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@contextmanager
def server_process(env: dict[str, str], *args: str, port: int | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """`hindfoot serve` as its own process (its own pool, its own interpreter); yields (base URL, process).
    Waits until /readyz answers 200; stops it with SIGTERM (graceful) at the end. Its log goes to a
    file (a pipe nobody reads during a load test fills up and stalls the server); once it has stopped,
    `proc.stdout` reads that log."""
    port = port or free_port()
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - handed over as proc.stdout
    proc = subprocess.Popen(
        [sys.executable, "-m", "hindfoot", "serve", "--port", str(port), *args],
        env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, text=True,
    )

    def log_text() -> str:
        log.seek(0)
        return log.read()

    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while True:
            assert proc.poll() is None, f"server exited: {log_text()}"
            assert time.monotonic() < deadline, "server did not become ready"
            try:
                if httpx2.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            time.sleep(0.2)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.seek(0)
        proc.stdout = log
