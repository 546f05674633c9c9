"""One way for every page form to take input and answer a mistake.

A form is read whole (``RawForm``), never through FastAPI ``Form(...)`` parameters: those answer a
missing or too-long field with a bare 422 before the route runs, so the person loses everything
they typed. Here the route validates, collects *every* problem at once as ``{field: message}`` and
re-renders its own page with the values kept; ``templates/_forms.html`` shows each message next to
its field (and a summary linking to them). Messages are sentences that name the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import ValidationError

from hindfoot.errors import HindfootError

CHOICES = frozenset({"sex", "preferred_contact", "patient_choice", "patient_id", "level", "sport", "role", "service",
                     "location_id", "practitioner_id", "weekday"})
"""Fields answered by choosing (a select or radios): a missing one says "Choose", not "Enter"."""
MAX_FIELD = 5000  # longer than any field we accept, so a too-long value is refused by name, not cut


async def _form_fields(request: Request) -> dict[str, str]:
    raw = await request.form()
    out: dict[str, str] = {}
    for key in raw.keys():
        value = raw.get(key)
        out[key] = value[:MAX_FIELD] if isinstance(value, str) else ""
    return out


RawForm = Annotated[dict[str, str], Depends(_form_fields)]


def _label(field: str, labels: Mapping[str, str]) -> str:
    return labels.get(field) or field.replace("_", " ").capitalize()


def _sentence(text: str) -> str:
    text = text.strip().removeprefix("Value error, ")
    return text[:1].upper() + text[1:] if text else text


def _pydantic_message(err: Mapping[str, Any], label: str) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    value = err.get("input")
    field = str(err["loc"][0]) if err.get("loc") else ""
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return f"{'Choose' if field in CHOICES else 'Enter'} the {label[:1].lower()}{label[1:]}"
    if kind == "string_too_long":
        typed = f" (you typed {len(value)})" if isinstance(value, str) else ""
        return f"{label}: at most {ctx.get('max_length')} characters{typed}"
    if kind == "string_too_short":
        return f"{label}: at least {ctx.get('min_length')} characters"
    if kind == "string_pattern_mismatch" and "phone" in str(err.get("loc", ("",))[0]):
        return f"{label}: enter a phone number (digits, spaces, + and brackets), like 020 7946 0000"
    if kind == "string_pattern_mismatch" and "email" in str(err.get("loc", ("",))[0]):
        return f"{label}: enter an address like name@example.com"
    if kind.startswith("date"):
        return f"{label}: enter a real date (day, month, year)"
    if kind in ("enum", "literal_error"):
        return f"{label}: choose one of the options"
    if kind == "value_error" and "email" in str(err.get("msg", "")).lower():
        return f"{label}: enter an address like name@example.com"
    message = _sentence(str(err.get("msg", "not valid"))).rstrip(".")
    return f"{label}: {message[:1].lower()}{message[1:]}"


def errors_from(exc: ValidationError | HindfootError, labels: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every problem in ``exc`` as ``{field: sentence}`` (the first message per field wins)."""
    labels = labels or {}
    errors: dict[str, str] = {}
    if isinstance(exc, ValidationError):
        for err in exc.errors():
            field = str(err["loc"][0]) if err.get("loc") else "form"
            errors.setdefault(field, _pydantic_message(err, _label(field, labels)))
        return errors
    field = exc.field or "form"
    message = _sentence(exc.message)
    if field != "form" and not message.lower().startswith(_label(field, labels).lower()):
        message = f"{_label(field, labels)}: {message[:1].lower()}{message[1:]}"
    return {field: message}
