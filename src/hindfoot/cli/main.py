"""Root of the `hindfoot` CLI. Each domain adds its commands from its own module below."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="hindfoot",
    help="hindfoot: care pathway, decision support and outcomes for posterior ankle impingement clinics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Domain command modules register themselves on `app` (one line each).
from hindfoot.cli import server as _server  # noqa: E402

_server.register(app)

from hindfoot.cli import outcomes as _outcomes  # noqa: E402

_outcomes.register(app)

from hindfoot.cli import demo as _demo  # noqa: E402

_demo.register(app)

from hindfoot.cli import recovery as _recovery  # noqa: E402

_recovery.register(app)

from hindfoot.cli import assessment as _assessment  # noqa: E402
from hindfoot.cli import knowledge as _knowledge  # noqa: E402

app.add_typer(_knowledge.kb_app, name="kb")
_assessment.register(app)

from hindfoot.cli import scheduling as _scheduling  # noqa: E402

_scheduling.register(app)

from hindfoot.cli import clinic as _clinic  # noqa: E402

_clinic.register(app)

from hindfoot.cli import audit as _audit  # noqa: E402

_audit.register(app)
