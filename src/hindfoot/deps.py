"""Request dependencies shared by the API and the pages: the session, the signed-in actor and the
CSRF check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from hindfoot.auth import sessions
from hindfoot.auth.actor import Actor
from hindfoot.auth.csrf import CSRF_FORM_FIELD, CSRF_HEADER, SAFE_METHODS, token_matches
from hindfoot.errors import Forbidden, HindfootError, NotAuthenticated
from hindfoot.settings import Settings


def get_session(request: Request) -> Iterator[Session]:
    """One unit of work per request, committed before the response is sent (scope="function")."""
    with request.app.state.sessionmaker() as session:
        try:
            yield session
            session.commit()
        except HindfootError as exc:
            # Some refusals keep what they recorded (a failed sign-in's count and audit entry), in this
            # same transaction: one connection per request.
            session.commit() if exc.keep_writes else session.rollback()
            raise
        except BaseException:
            session.rollback()
            raise


DbSession = Annotated[Session, Depends(get_session, scope="function")]


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


AppSettings = Annotated[Settings, Depends(get_settings_dep)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def lifetimes(request: Request) -> sessions.Lifetimes:
    return sessions.Lifetimes.from_settings(request.app.state.settings)


def session_token(request: Request) -> str | None:
    token = request.session.get(sessions.COOKIE_KEY)
    return token if isinstance(token, str) else None


def start_session(request: Request, db: Session, account: object, *, mfa_pending: bool = False) -> None:
    """Sign this browser in as `account`: a fresh cookie session (and CSRF token) and a new server-side row."""
    sessions.end(db, session_token(request))
    request.session.clear()
    request.session[sessions.COOKIE_KEY] = sessions.start(
        db, account, lifetimes(request), user_agent=request.headers.get("user-agent", ""),  # type: ignore[arg-type]
        source_ip=client_ip(request), mfa_pending=mfa_pending)


def end_session(request: Request, db: Session) -> None:
    sessions.end(db, session_token(request))
    request.session.clear()


def pending_account(request: Request, db: Session) -> object | None:
    """The account of a session that passed the password and still owes its second factor."""
    found = sessions.resolve(db, session_token(request), lifetimes(request), allow_mfa_pending=True)
    if found is None or not found[0].mfa_pending:
        return None
    return found[1]


def complete_sign_in(request: Request, db: Session, account: object) -> None:
    """The second factor is done: a fresh, full session (the pending one ends)."""
    start_session(request, db, account)


def get_optional_actor(request: Request, db: DbSession) -> Actor | None:
    found = sessions.resolve(db, session_token(request), lifetimes(request))
    if found is None:
        return None
    _, account = found
    actor = Actor.from_account(account, source_ip=client_ip(request), path=request.url.path)
    request.state.actor = actor
    return actor


def get_actor(actor: Annotated[Actor | None, Depends(get_optional_actor)]) -> Actor:
    if actor is None:
        raise NotAuthenticated("sign in first")
    return actor


OptionalActor = Annotated[Actor | None, Depends(get_optional_actor)]
CurrentActor = Annotated[Actor, Depends(get_actor)]


async def verify_csrf(request: Request) -> None:
    """Unsafe methods need the session's CSRF token: a header (API, htmx) or a form field (pages)."""
    if request.method in SAFE_METHODS:
        return
    fhir = request.url.path == "/api/fhir" or request.url.path.startswith("/api/fhir/")
    if fhir and request.headers.get("authorization", "").lower().startswith("bearer "):
        return  # the FHIR API then authenticates by that token alone, never by the cookie: nothing to forge
    presented = request.headers.get(CSRF_HEADER)
    if not presented and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FORM_FIELD)
        presented = value if isinstance(value, str) else None
    if not token_matches(request.session, presented):
        raise Forbidden("missing or invalid CSRF token; reload the page and try again", field=CSRF_FORM_FIELD)
