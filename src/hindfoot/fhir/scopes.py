"""SMART on FHIR scopes (App Launch 2.0, with the 1.0 spellings): what a token lets its holder do.

A resource scope is `<context>/<type>.<permissions>`: context `patient` (the launch patient's
compartment), `user` (what the signed-in user may see) or `system` (a backend service's
organisation); type a resource type or `*`; permissions SMART 2.0 letters `cruds` in that order
(`rs` = read and search) or the 1.0 words `read`, `write`, `*`. Anything else (`openid`, `fhirUser`,
`launch`, `launch/patient`, `offline_access`, `online_access`) is a context or identity scope.
Pure: no database, no web objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CONTEXTS = ("patient", "user", "system")
IDENTITY_SCOPES = frozenset({"openid", "fhirUser", "profile", "launch", "launch/patient", "offline_access",
                             "online_access"})
_RESOURCE = re.compile(r"^(patient|user|system)/(\*|[A-Z][A-Za-z]+)\.(read|write|\*|c?r?u?d?s?)(\?.*)?$")
_V1 = {"read": "rs", "write": "cud", "*": "cruds"}


@dataclass(frozen=True)
class ResourceScope:
    context: str  # patient | user | system
    type: str  # a resource type or *
    permissions: frozenset[str]  # letters of cruds


def parse(scope: str) -> ResourceScope | None:
    """The resource scope `scope` names, or None for an identity or launch scope (or a malformed one)."""
    m = _RESOURCE.match(scope)
    if m is None or m.group(3) == "" or m.group(4):
        return None
    letters = _V1.get(m.group(3), m.group(3))
    return ResourceScope(m.group(1), m.group(2), frozenset(letters))


def is_known(scope: str) -> bool:
    return scope in IDENTITY_SCOPES or parse(scope) is not None


def split(scope: str | None) -> list[str]:
    return [s for s in (scope or "").split() if s]


def permits(granted: frozenset[str], type_name: str, permission: str) -> bool:
    """Whether the granted scopes allow `permission` (one of c r u d s) on `type_name`, in any context."""
    for s in granted:
        parsed = parse(s)
        if parsed and parsed.type in ("*", type_name) and permission in parsed.permissions:
            return True
    return False


def contexts(granted: frozenset[str]) -> set[str]:
    """The contexts (patient, user, system) of the resource scopes granted."""
    return {p.context for p in (parse(s) for s in granted) if p is not None}


def allowed(requested: str | None, ceiling: str) -> str:
    """The requested scopes a client may have: each within one the client is registered for (a
    registered `patient/*.rs` covers a requested `patient/Observation.rs` or `patient/*.read`)."""
    mine = split(ceiling)
    out: list[str] = []
    for s in split(requested):
        if s in mine:
            out.append(s)
            continue
        want = parse(s)
        if want is None:
            continue
        for c in mine:
            have = parse(c)
            if (have and have.context == want.context and have.type in ("*", want.type)
                    and want.permissions <= have.permissions):
                out.append(s)
                break
    return " ".join(out)
