"""Every route of the app has its own name, so `url_for(name)` can never pick the wrong one.

FastAPI names a route after its function unless told otherwise; a page and an API route written as
`def add_rule(...)` would share the name, and `url_for("add_rule")` would answer whichever was
included first. Page functions that mirror an API route end in `_page`.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from conftest import app_settings

from hindfoot.app import create_app


def _named_routes(app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(name, path) of every route, through included routers too (FastAPI 0.16x nests them)."""
    out = []
    for r in app.routes:
        contexts = r.effective_route_contexts() if hasattr(r, "effective_route_contexts") else [r]
        out += [(c.name, c.path) for c in contexts]
    return out


def test_every_route_name_is_unique(tmp_path: Path) -> None:
    app = create_app(app_settings(f"sqlite:///{tmp_path / 'unused.db'}"))
    routes = _named_routes(app)
    paths = {path for _, path in routes}
    # the walk reaches the nested routers: pages and API alike
    assert {"/calendar/rota/rules", "/api/availability/rules", "/api/fhir/metadata", "/static"} <= paths
    by_name: dict[str, list[str]] = defaultdict(list)
    for name, path in routes:
        by_name[name].append(path)
    shared = {name: paths for name, paths in by_name.items() if len(paths) > 1}
    assert shared == {}

