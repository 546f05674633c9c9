"""Admission control: no more requests in progress than the process has database connections.

A request takes its connection early (the session is looked up before the route runs) and keeps
it until it has answered, and between the two it waits for one of AnyIO's worker threads. With
more requests in progress than connections, the surplus would wait on the *pool* and fail after
the pool timeout, even though each request is quick, because the ones holding connections are
queued behind each other for SQLite's writer lock or PostgreSQL's booking lock. Here they wait
in line *before* touching the database instead: at most `limit` requests run at once (by
default the pool's size plus overflow), the rest queue in arrival order for up to
`queue_seconds` and are then answered 503 with Retry-After. The probes and static files are not
queued, so a load balancer still sees a busy instance as alive.

Password sign-ins (`SIGN_IN`) have a lane of their own with `sign_in_limit` places. Each costs an
argon2 verification (tens of MiB, a fraction of a CPU second on purpose), so a flood of them,
failed or not, would otherwise take every place and keep a plain read waiting for seconds. In their
lane they queue only behind each other; one that waits past `sign_in_queue_seconds` (shorter than
a client's time-out) is answered 429 with
Retry-After: the server-wide limit on password guessing, beside the per-email and per-address
throttle that the sign-in itself applies before it hashes anything.
"""

from __future__ import annotations

import anyio
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

UNQUEUED = ("/healthz", "/static/")
SIGN_IN = frozenset({"/api/auth/login", "/login"})  # POST: a password is checked
RETRY_AFTER_SECONDS = 2


class AdmissionMiddleware:
    def __init__(self, app: ASGIApp, *, limit: int, queue_seconds: float, sign_in_limit: int | None = None,
                 sign_in_queue_seconds: float | None = None) -> None:
        self.app = app
        self.limit = max(1, limit)
        self.sign_in_limit = max(1, sign_in_limit) if sign_in_limit else None
        self.queue_seconds = queue_seconds
        self.sign_in_queue_seconds = sign_in_queue_seconds or queue_seconds
        self._slots: anyio.Semaphore | None = None  # made on first use, inside the event loop
        self._sign_in_slots: anyio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNQUEUED):
            await self.app(scope, receive, send)
            return
        sign_in = self.sign_in_limit is not None and scope["method"] == "POST" and scope["path"] in SIGN_IN
        slots = self._lane(sign_in)
        try:  # a free place (no one queues then): taken at once, without a timer and cancel scope per request
            slots.acquire_nowait()
            admitted = True
        except anyio.WouldBlock:
            admitted = False
            with anyio.move_on_after(self.sign_in_queue_seconds if sign_in else self.queue_seconds):
                await slots.acquire()
                admitted = True
        if not admitted:
            await self._refuse(sign_in)(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            slots.release()

    def _lane(self, sign_in: bool) -> anyio.Semaphore:
        if sign_in:
            if self._sign_in_slots is None:
                self._sign_in_slots = anyio.Semaphore(self.sign_in_limit or 1)
            return self._sign_in_slots
        if self._slots is None:
            self._slots = anyio.Semaphore(self.limit)
        return self._slots

    @staticmethod
    def _refuse(sign_in: bool) -> JSONResponse:
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        if sign_in:
            return JSONResponse(
                {"error": "too_many_attempts", "message": "too many sign-ins at once: try again in a moment",
                 "retry_after_seconds": RETRY_AFTER_SECONDS}, status_code=429, headers=headers)
        return JSONResponse(
            {"error": "busy", "message": "the clinic's server is busy: please try again in a moment",
             "retry_after_seconds": RETRY_AFTER_SECONDS}, status_code=503, headers=headers)
