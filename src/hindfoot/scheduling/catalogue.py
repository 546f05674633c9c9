"""The clinic's service catalogue: what a patient can book, for how long, and with whom.

Patients book directly (no referral), so each service carries a plain-language description the
booking pages can show as is, and the roles that may provide it: slot search offers a service
only with practitioners whose role provides it, and the booking validators refuse the rest.
These are the defaults: a clinic keeps its own services as data (``clinic_service`` rows, read by
``scheduling.clinic.services_for``), seeded from these, and an organisation without rows uses
them as they are. Every look-up here takes the catalogue to search, defaulting to these.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict, Field

from hindfoot.errors import InvalidInput

__all__ = [
    "CATALOGUE",
    "MAX_DURATION_MINUTES",
    "MIN_DURATION_MINUTES",
    "PROVIDER_ROLES",
    "Role",
    "Service",
    "ServiceCode",
    "get_service",
    "role_provides",
    "services_for_role",
]


class Role(enum.StrEnum):
    """Practitioner roles; the same codes as ``db.models.practitioner.PractitionerRoleCode``.

    Declared here too because scheduling logic must not import the database package.
    """

    surgeon = "surgeon"
    sports_physician = "sports_physician"
    physiotherapist = "physiotherapist"
    nurse = "nurse"
    radiologist = "radiologist"
    admin = "admin"


PROVIDER_ROLES = tuple(r for r in Role if r is not Role.admin)
"""Roles that can provide a service (admins run the clinic, they see no patients)."""

MIN_DURATION_MINUTES = 5
MAX_DURATION_MINUTES = 480
"""The range a clinic may set a service's length to (five minutes to a full eight-hour list)."""


class ServiceCode(enum.StrEnum):
    """The default services' codes; a clinic may add its own (any ``[a-z][a-z0-9_]*`` code)."""


    new_consultation = "new_consultation"
    follow_up = "follow_up"
    physiotherapy = "physiotherapy"
    image_guided_injection = "image_guided_injection"
    imaging = "imaging"
    day_case_surgery = "day_case_surgery"
    nurse_dressing = "nurse_dressing"


class Service(BaseModel):
    """One bookable service. Frozen so a shared default cannot be changed by one caller.

    ``active`` false: kept so past appointments still show its name, never offered or booked.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    duration_minutes: int = Field(gt=0, le=24 * 60)
    roles: frozenset[Role]
    active: bool = True
    online: bool = True  # False: only staff book it (the public booking pages never offer it)

    def provided_by(self, role: Role | str) -> bool:
        """True when a practitioner with ``role`` may deliver this service (unknown roles: no)."""
        try:
            return Role(role) in self.roles
        except ValueError:
            return False


_CLINICIANS = frozenset({Role.surgeon, Role.sports_physician})

_DEFAULTS = (
    Service(
        code=ServiceCode.new_consultation,
        name="New patient consultation",
        description=(
            "A first appointment with a foot and ankle specialist to talk through your symptoms, "
            "examine your ankle and agree a plan. No referral is needed. Bring any scans or "
            "reports you already have."
        ),
        duration_minutes=30,
        roles=_CLINICIANS,
    ),
    Service(
        code=ServiceCode.follow_up,
        name="Follow-up appointment",
        description=(
            "A shorter appointment with your specialist to review progress, scan results or "
            "recovery after treatment."
        ),
        duration_minutes=15,
        roles=_CLINICIANS,
    ),
    Service(
        code=ServiceCode.physiotherapy,
        name="Physiotherapy session",
        description=(
            "A hands-on session with a physiotherapist: exercises, strapping advice and a "
            "programme to get you back to your sport or dance."
        ),
        duration_minutes=45,
        roles=frozenset({Role.physiotherapist}),
    ),
    Service(
        code=ServiceCode.image_guided_injection,
        name="Image-guided injection",
        description=(
            "An injection into the back of the ankle, guided by ultrasound or X-ray so it "
            "reaches the right spot. It can ease pain and help confirm where the pain comes from."
        ),
        duration_minutes=30,
        roles=frozenset({Role.radiologist, Role.sports_physician}),
        online=False,
    ),
    Service(
        code=ServiceCode.imaging,
        name="Imaging (X-ray, ultrasound or MRI)",
        description=(
            "A scan of your ankle so the team can see the bones and soft tissues at the back "
            "of the joint. Your specialist will go through the results with you."
        ),
        duration_minutes=30,
        roles=frozenset({Role.radiologist}),
        online=False,
    ),
    Service(
        code=ServiceCode.day_case_surgery,
        name="Day-case surgery",
        description=(
            "Keyhole (arthroscopic) or open surgery at the back of the ankle. You go home the "
            "same day; the team will tell you how to prepare and what to bring."
        ),
        duration_minutes=120,
        roles=frozenset({Role.surgeon}),
        online=False,
    ),
    Service(
        code=ServiceCode.nurse_dressing,
        name="Wound check and dressing",
        description=(
            "A short visit with a nurse after surgery to check the wound, change the dressing "
            "and remove stitches when they are due."
        ),
        duration_minutes=20,
        roles=frozenset({Role.nurse}),
        online=False,
    ),
)

CATALOGUE: Mapping[str, Service] = MappingProxyType({ServiceCode(s.code): s for s in _DEFAULTS})
"""Default services by code, in the order the booking pages list them. Read-only."""


def get_service(code: str, catalogue: Mapping[str, Service] | None = None) -> Service:
    """Look a service up by code; an unknown code is the caller's input error (422), not a 500."""
    svc = (CATALOGUE if catalogue is None else catalogue).get(str(code))
    if svc is None:
        raise InvalidInput(f"unknown service {code!r}", field="service")
    return svc


def role_provides(
    role: Role | str, service: Service | str, catalogue: Mapping[str, Service] | None = None
) -> bool:
    """True when ``role`` provides ``service`` (a Service or a code looked up in ``catalogue``)."""
    svc = service if isinstance(service, Service) else get_service(service, catalogue)
    return svc.provided_by(role)


def services_for_role(role: Role | str, catalogue: Mapping[str, Service] | None = None) -> list[Service]:
    """Active services a role provides, in catalogue order (admin: none)."""
    return [
        s for s in (CATALOGUE if catalogue is None else catalogue).values() if s.active and s.provided_by(role)
    ]
