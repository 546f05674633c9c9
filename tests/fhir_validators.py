"""Two independent FHIR validators for the tests: the R4B pydantic models (through fhir/r4.py) and
Medplum's validator run by node (tools/fhir-validator, installed by `make fhir-validator`)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from hindfoot.fhir import r4

VALIDATOR = Path(__file__).resolve().parents[1] / "tools" / "fhir-validator"


def r4b_errors(resources: list[dict[str, Any]]) -> list[str]:
    errors = []
    for resource in resources:
        try:
            r4.validate(resource)
        except Exception as exc:  # pydantic's ValidationError, or an unknown type
            errors.append(f"{resource.get('resourceType')}/{resource.get('id')}: {exc}")
    return errors


def medplum_errors(resources: list[dict[str, Any]]) -> list[str]:
    assert (VALIDATOR / "node_modules" / "@medplum" / "core").is_dir(), "run `make fhir-validator` first"
    done = subprocess.run(["node", str(VALIDATOR / "validate.mjs")], input=json.dumps(resources).encode(),
                          capture_output=True, check=True, timeout=240)
    results = json.loads(done.stdout)
    assert len(results) == len(resources)
    return [f"{r['resourceType']}/{r['id']}: {e}" for r in results for e in r["errors"]]
