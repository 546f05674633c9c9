from __future__ import annotations

from datetime import date, datetime
from typing import Any

from hindfoot.fhir import codes


def ref(resource_type: str, ident: object | None) -> dict[str, str] | None:
    return {"reference": f"{resource_type}/{ident}"} if ident else None


def instant(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def laterality(side: str | None) -> dict[str, Any] | None:
    if not side or side not in codes.LATERALITY:
        return None
    code, display = codes.LATERALITY[side]
    return {"coding": [{"system": codes.SNOMED, "code": code, "display": display}], "text": side}


def drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None and v != [] and v != {}}
