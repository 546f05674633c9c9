"""How every CLI command reports bad input: a clear message on stderr and exit code 2."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

err_console = Console(stderr=True)


def fail(message: str) -> NoReturn:
    """Print `message` naming the bad field or value and exit with code 2."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)
