"""`hindfoot kb ...`: check the knowledge base (knowledge/data/*.yaml) against the vocabulary contract."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from hindfoot.cli.errors import fail
from hindfoot.knowledge.loader import DATA_DIR, check_kb, load_kb

kb_app = typer.Typer(help="Knowledge base: conditions, findings, likelihoods, red flags.", no_args_is_help=True)


@kb_app.command("check")
def check(
    vocabulary: Annotated[
        Path | None,
        typer.Option("--vocabulary", help="Vocabulary contract to check against (default: the packaged copy)."),
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Knowledge-base directory (default: the packaged one).")
    ] = None,
) -> None:
    """Validate the knowledge base: ids, coverage of the vocabulary, probabilities, sources, red flags.

    Exit 0 with a summary when valid; exit 1 with every problem listed otherwise.
    """
    if vocabulary is not None and not vocabulary.is_file():
        fail(f"--vocabulary: file not found: {vocabulary}")
    if data_dir is not None and not data_dir.is_dir():
        fail(f"--data-dir: directory not found: {data_dir}")
    console = Console()
    problems = check_kb(data_dir, vocabulary)
    if problems:
        err = Console(stderr=True)
        err.print(f"[bold red]knowledge base INVALID[/]: {len(problems)} problem(s)", highlight=False)
        for p in problems:
            err.print(f"  - {p}", highlight=False, soft_wrap=True, markup=False)
        raise typer.Exit(code=1)
    kb = load_kb(data_dir, vocabulary)
    s = kb.summary()
    console.print(
        f"knowledge base OK ({data_dir or DATA_DIR}): {s['conditions']} conditions, {s['findings']} findings, "
        f"{s['likelihoods']} likelihoods, {s['red_flag_rules']} red-flag rules, {s['sources']} source keys; "
        f"vocabulary v{kb.vocabulary.version} ({vocabulary or 'packaged copy'}) fully covered",
        highlight=False,
        soft_wrap=True,
    )
