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
"""

from __future__ import annotations

import anyio
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

UNQUEUED = ("/healthz", "/static/")
RETRY_AFTER_SECONDS = 2


class AdmissionMiddleware:
    def __init__(self, app: ASGIApp, *, limit: int, queue_seconds: float) -> None:
        self.app = app
        self.limit = max(1, limit)
        self.queue_seconds = queue_seconds
        self._slots: anyio.Semaphore | None = None  # made on first use, inside the event loop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNQUEUED):
            await self.app(scope, receive, send)
            return
        if self._slots is None:
            self._slots = anyio.Semaphore(self.limit)
        admitted = False
        with anyio.move_on_after(self.queue_seconds):
            await self._slots.acquire()
            admitted = True
        if not admitted:
            response = JSONResponse(
                {"error": "busy", "message": "the clinic's server is busy: please try again in a moment",
                 "retry_after_seconds": RETRY_AFTER_SECONDS},
                status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
            await response(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._slots.release()
