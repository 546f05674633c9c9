"""Searchset Bundles: `_count` and `_offset`, the paging links, the entries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from hindfoot.bounds import MAX_OFFSET
from hindfoot.errors import BadRequest

if TYPE_CHECKING:
    from hindfoot.fhir.rest import Found

DEFAULT_COUNT = 50
MAX_COUNT = 500


def count_and_offset(params: Sequence[tuple[str, str]]) -> tuple[int, int]:
    """`_count` (at most `MAX_COUNT`) and `_offset` (at most `MAX_OFFSET`), 400 naming the bad one."""
    values = dict(params)
    try:
        count = int(values.get("_count", DEFAULT_COUNT))
        offset = int(values.get("_offset", 0))
    except ValueError:
        raise BadRequest("_count and _offset must be whole numbers", field="_count") from None
    if count < 0 or offset < 0:
        raise BadRequest("_count and _offset cannot be negative", field="_count")
    if offset > MAX_OFFSET:
        raise BadRequest(f"_offset must be at most {MAX_OFFSET}", field="_offset")
    return min(count, MAX_COUNT), offset


def link(base: str, path: str, params: Sequence[tuple[str, str]], offset: int | None = None) -> str:
    kept = [(k, v) for k, v in params if k not in ("_offset", "_format")]
    if offset:
        kept.append(("_offset", str(offset)))
    query = urlencode(kept)
    return f"{base}/{path}" + (f"?{query}" if query else "")


def paging_links(base: str, path: str, params: Sequence[tuple[str, str]], offset: int, count: int,
                 total: int | None, more: bool = False) -> list[dict[str, str]]:
    """Paging links; with no total (not counted, or past the cap) `next` follows a full page that
    has more after it (`more`), and there is no `last`."""
    links = [{"relation": "self", "url": link(base, path, params, offset)},
             {"relation": "first", "url": link(base, path, params, 0)}]
    if count and offset > 0:
        links.append({"relation": "previous", "url": link(base, path, params, max(0, offset - count))})
    if count and (offset + count < total if total is not None else more):
        links.append({"relation": "next", "url": link(base, path, params, offset + count)})
    if count and total is not None:
        links.append({"relation": "last", "url": link(base, path, params, ((max(total, 1) - 1) // count) * count)})
    return links


def entry(base: str, found: Found, mode: str) -> dict[str, Any]:
    """A Bundle entry: `mode` is "match" or "include"."""
    return {"fullUrl": f"{base}/{found.type.name}/{found.row.id}", "resource": found.resource,
            "search": {"mode": mode}}
