"""Template rendering with the globals every page needs (actor, CSRF token, clinic name)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from hindfoot.auth.csrf import csrf_token
from hindfoot.db.models.episode import STAGE_LABELS
from hindfoot.pathway.citations import cite

TEMPLATES = Path(__file__).parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES))


def _local(value: datetime | None, fmt: str = "%d %b %Y %H:%M", tz: str = "Europe/London") -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZoneInfo(tz)).strftime(fmt)


def _day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _local(value, "%d %b %Y")
    return value.strftime("%d %b %Y")


templates.env.filters["local"] = _local
templates.env.filters["day"] = _day
templates.env.globals["stage_labels"] = STAGE_LABELS
templates.env.globals["cite"] = cite


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    ctx: dict[str, Any] = {
        "actor": getattr(request.state, "actor", None),
        "csrf_token": csrf_token(request.session),
        "today": date.today(),
    }
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)


def render_error(request: Request, status_code: int, message: str) -> HTMLResponse:
    return render(request, "error.html", {"status_code": status_code, "message": message}, status_code=status_code)
