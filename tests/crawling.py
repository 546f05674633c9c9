"""Following the links a page shows, as a signed-in user would: the pages reachable and their status."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

SKIP = ("/logout", "/static/", "/api/", "/login", "/password")


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def kind(url: str) -> str:
    """The page a URL shows, whatever its ids and query values: /appointments/{id}?day="""
    path, _, query = url.partition("?")
    return UUID.sub("{id}", path) + "?" + ",".join(sorted(p.split("=")[0] for p in query.split("&") if p))


def crawl(client: TestClient, start: list[str], limit: int, per_kind: int = 2) -> dict[str, int]:
    """The pages reachable from `start` by following the pages' own links, at most `per_kind` URLs of each
    kind of page (up to `limit` in all): url -> status."""
    seen: dict[str, int] = {}
    kinds: dict[str, int] = {}
    queue = list(start)
    while queue and len(seen) < limit:
        url = queue.pop(0)
        if url in seen or url.startswith(SKIP) or kinds.get(kind(url), 0) >= per_kind:
            continue
        kinds[kind(url)] = kinds.get(kind(url), 0) + 1
        r = client.get(url)
        seen[url] = r.status_code
        if r.status_code == 200 and "text/html" in r.headers.get("content-type", ""):
            for link in re.findall(r'href="(/[^"#]*)', r.text):
                link = html.unescape(link)
                if link not in seen and "format=" not in link and ".ics" not in link and ".csv" not in link:
                    queue.append(link)
    return seen
