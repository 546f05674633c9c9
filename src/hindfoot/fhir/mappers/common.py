"""Shared pieces of every mapper: references, dates, meta (version and last update), narrative."""

from __future__ import annotations

from datetime import date, datetime
from html import escape
from typing import Any

from hindfoot.fhir import codes


def ref(resource_type: str, ident: object | None, display: str | None = None) -> dict[str, str] | None:
    if not ident:
        return None
    out = {"reference": f"{resource_type}/{ident}"}
    if display:
        out["display"] = display
    return out


def instant(value: datetime | None) -> str | None:
    return utc_text(value) if value else None


def utc_text(value: datetime) -> str:
    """An instant as FHIR writes it; UTC as `Z` (the spelling the R4 models give on a round trip)."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def version_id(row: Any) -> str:
    """A row's version: its last update in microseconds, so every change gives a new, larger id.
    Rows without an update time (slots) are at version 1."""
    updated = getattr(row, "updated_at", None)
    return str(int(updated.timestamp() * 1_000_000)) if updated else "1"


def meta(row: Any) -> dict[str, str]:
    updated = getattr(row, "updated_at", None)
    out = {"versionId": version_id(row)}
    if updated:
        out["lastUpdated"] = utc_text(updated)
    return out


def narrative(*lines: str | None) -> dict[str, str]:
    """A generated narrative: the resource's human-readable summary, one paragraph per line."""
    body = "".join(f"<p>{escape(line)}</p>" for line in lines if line)
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body or "<p>-</p>"}</div>'}


def coding(system: str, code: str, display: str | None = None, *, proxy: bool | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"system": system, "code": code, "display": display or code}
    if proxy is not None:
        out["extension"] = codes.equivalence("wider" if proxy else "equivalent")
    return out


def laterality(side: str | None) -> dict[str, Any] | None:
    if not side or side not in codes.LATERALITY:
        return None
    code, display = codes.LATERALITY[side]
    return {"coding": [coding(codes.SNOMED, code, display)], "text": side}


def drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None and v != [] and v != {} and v != ""}


def resource(resource_type: str, row: Any, text: dict[str, str], **fields: Any) -> dict[str, Any]:
    """The frame every mapper fills: type, id, meta, narrative, then the fields without empties."""
    return drop_none({"resourceType": resource_type, "id": str(row.id), "meta": meta(row), "text": text, **fields})
