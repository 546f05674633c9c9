"""The protocol file is validated at load, and the pure modules stay pure."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hindfoot.recovery.planner import load_protocols

DATA = Path(__file__).parents[2] / "src/hindfoot/knowledge/data/recovery_protocols.yaml"


def _load_modified(tmp_path: Path, change) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "protocols.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    load_protocols(path)


def test_shipped_file_loads() -> None:
    assert load_protocols().version >= 1


def test_window_out_of_order_is_rejected(tmp_path: Path) -> None:
    def change(d: dict) -> None:  # type: ignore[type-arg]
        d["protocols"]["surgical"]["milestones"][0]["window"] = [5, 3, 9]

    with pytest.raises(ValueError, match="earliest <= typical <= latest"):
        _load_modified(tmp_path, change)


def test_unknown_dependency_is_rejected(tmp_path: Path) -> None:
    def change(d: dict) -> None:  # type: ignore[type-arg]
        d["protocols"]["surgical"]["milestones"][0]["after"] = ["teleport"]

    with pytest.raises(ValueError, match="teleport"):
        _load_modified(tmp_path, change)


def test_dependency_cycle_is_rejected(tmp_path: Path) -> None:
    def change(d: dict) -> None:  # type: ignore[type-arg]
        first = d["protocols"]["surgical"]["milestones"][0]
        first["after"] = ["wound_check"]  # wound_check already depends on it

    with pytest.raises(ValueError, match="cycle"):
        _load_modified(tmp_path, change)


def test_pure_modules_do_not_import_db_or_web() -> None:
    code = (
        "import sys\n"
        "import hindfoot.pathway.machine, hindfoot.pathway.next_steps\n"
        "import hindfoot.recovery.planner, hindfoot.recovery.ical\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'fastapi')\n"
        "       or m.startswith(('hindfoot.db', 'hindfoot.web', 'hindfoot.api'))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name", ["recovery_protocols.yaml", "next_steps.yaml"])
def test_cited_source_keys_exist_in_the_bibliography(name: str) -> None:
    data_dir = DATA.parent
    known = set(yaml.safe_load((data_dir / "sources.yaml").read_text(encoding="utf-8"))["sources"])
    cited = set(re.findall(r"\[([A-Z][A-Z0-9_]+)\]", (data_dir / name).read_text(encoding="utf-8")))
    assert cited and cited <= known, sorted(cited - known)
