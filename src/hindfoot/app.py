"""create_app(settings): the one FastAPI application serving the JSON API and the pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import anyio.to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from hindfoot import flat_routes
from hindfoot.admission import AdmissionMiddleware
from hindfoot.auth import passwords
from hindfoot.db.engine import engine_from_settings, make_sessionmaker
from hindfoot.request_id import RequestIdMiddleware
from hindfoot.scheduling import waitlist
from hindfoot.settings import Settings, get_settings

STATIC = Path(__file__).parent / "web" / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = engine_from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Routes and dependencies that are plain functions run on AnyIO's worker threads (40 by default).
        # The admission lanes already bound how many requests run at once; sign-ins waiting for a turn
        # to hash each block a thread, so there are enough threads for both lanes and the rest never
        # queues for a thread behind them.
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(limiter.total_tokens,
                                   settings.general_concurrency + settings.sign_in_concurrency + 8)
        yield
        engine.dispose()

    app = FastAPI(
        title="hindfoot",
        version="0.1.0",
        summary="Care pathway, decision support and outcomes for posterior ankle impingement clinics. "
        "Decision support only: it advises, it does not diagnose.",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
        max_body_size=settings.max_body_bytes,  # 413 before the body is read (Content-Length) or as it streams in
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="hindfoot_session",
        max_age=settings.session_max_age_seconds,
        same_site="lax",
        https_only=settings.cookie_secure,
    )
    import hindfoot.audit.service  # noqa: F401  (registers the audit hash chain on every Session)
    from hindfoot.web.security_headers import SecurityHeaders

    passwords.configure(settings)  # argon2 cost and how many hashes run at once
    waitlist.configure(settings)  # how many waiting patients each freed time is offered to, for how long
    app.add_middleware(AdmissionMiddleware, queue_seconds=settings.request_queue_seconds,
                       limit=settings.general_concurrency, sign_in_limit=settings.sign_in_concurrency,
                       sign_in_queue_seconds=settings.sign_in_queue_seconds)
    app.add_middleware(RequestIdMiddleware)  # outside the app: sees every unmapped exception, ids every answer
    app.add_middleware(SecurityHeaders)  # outermost: every answer, errors (the 500s above) included
    from hindfoot.api import router as api_routes
    from hindfoot.api.errors import install_error_handlers
    from hindfoot.api.routes.health import router as health_router
    from hindfoot.web import router as page_routes
    from hindfoot.web.rendering import render_error, templates

    # Compiled templates are kept; only a developer's server looks at the files again (a stat per template
    # and include on every page otherwise).
    templates.env.auto_reload = settings.environment == "development"
    install_error_handlers(app, render_error)
    flat_routes.include(app, health_router)
    api_routes.include(app)  # no nested routers: see hindfoot.api.router
    page_routes.include(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
