"""`make bench`: run every bench/bench_*.py and print rates with their same-run baseline ratios."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Result  # noqa: E402


def main(argv: list[str]) -> int:
    console = Console()
    wanted = set(argv)
    results: list[Result] = []
    package = Path(__file__).parent
    for info in sorted(pkgutil.iter_modules([str(package)]), key=lambda m: m.name):
        if not info.name.startswith("bench_"):
            continue
        if wanted and info.name.removeprefix("bench_") not in wanted:
            continue
        module = importlib.import_module(f"bench.{info.name}")
        console.rule(info.name)
        results.extend(module.run(console))
    table = Table(title="hindfoot benchmarks (ratio = ops/s ÷ same-run baseline ops/s)")
    for col in ("benchmark", "ops/s", "baseline", "baseline ops/s", "ratio", "note"):
        table.add_column(col, justify="right" if "ops" in col or col == "ratio" else "left")
    for r in results:
        table.add_row(r.name, f"{r.ops_per_s:,.1f}", r.baseline_name, f"{r.baseline_ops_per_s:,.1f}",
                      f"{r.ratio:.3f}", r.note)
    console.print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
