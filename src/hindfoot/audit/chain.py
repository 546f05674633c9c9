"""The audit trail's hash chain (pure): each event's hash covers its fields and the previous hash.

Editing, deleting or inserting a row in the database breaks the chain from that row on; `verify`
walks the events in sequence and names the first link that does not hold. The hash is SHA-256 over
a canonical JSON of the fields an auditor reads, so it is the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

FIELDS = ("recorded_at", "user_id", "user_email", "user_role", "action", "entity_type", "entity_id", "patient_id",
          "organization_id", "outcome", "description", "source_ip", "path")
GENESIS = ""


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


_UUIDS = frozenset({"user_id", "patient_id", "organization_id"})


def body_json(fields: dict[str, Any]) -> str:
    """The canonical JSON of an event's fields: the part of its link that does not depend on the chain."""
    body = {name: _canonical(fields.get(name)) for name in FIELDS}
    for name in _UUIDS:  # a raw SQLite read gives 32 hex digits; the ORM gives a UUID
        if body[name] is not None:
            body[name] = str(uuid.UUID(str(body[name])))
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def payload(seq: int, prev_hash: str, body: str) -> str:
    """What a link's hash is taken over: the canonical JSON ``[seq, prev_hash, body]``. Written out so
    the database can build the same text (``audit/service.py`` on PostgreSQL): a hash is hexadecimal,
    so quoting it needs no escapes."""
    return f"[{seq},{json.dumps(prev_hash)},{body}]"


def link_hash(seq: int, prev_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256(payload(seq, prev_hash, body_json(fields)).encode()).hexdigest()


@dataclass(frozen=True)
class Link:
    """One stored event as the chain sees it."""

    id: str
    seq: int | None
    prev_hash: str | None
    hash: str | None
    fields: dict[str, Any]


@dataclass(frozen=True)
class Broken:
    seq: int | None
    event_id: str
    reason: str


def verify(links: Iterable[Link]) -> tuple[int, Broken | None]:
    """(events checked, the first broken link or None). `links` come in `seq` order."""
    expected_seq, prev, checked = 1, GENESIS, 0
    for link in links:
        if link.seq is None or link.hash is None:
            return checked, Broken(link.seq, link.id, "the event is not on the chain (no sequence number or hash)")
        if link.seq != expected_seq:
            what = "missing" if link.seq > expected_seq else "repeated"
            return checked, Broken(link.seq, link.id, f"event {expected_seq} is {what} (found {link.seq} next)")
        if link.prev_hash != prev:
            return checked, Broken(link.seq, link.id, "its previous-hash does not match the event before it")
        if link_hash(link.seq, prev, link.fields) != link.hash:
            return checked, Broken(link.seq, link.id, "its content does not match its hash (edited)")
        prev, expected_seq, checked = link.hash, expected_seq + 1, checked + 1
    return checked, None
