"""The demo clinic: organisation, locations, staff with their rota and leave, and its diary; writes
every row.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hindfoot.auth.passwords import hash_password
from hindfoot.db.base import Base
from hindfoot.db.models import (
    Appointment,
    AvailabilityException,
    AvailabilityRule,
    Encounter,
    Location,
    Organization,
    Practitioner,
    Questionnaire,
    Schedule,
    UserAccount,
)
from hindfoot.db.models.practitioner import NON_CLINICAL_ROLES
from hindfoot.demo import cast
from hindfoot.demo.cast import DEMO_EMAIL_DOMAIN, DEMO_PASSWORD
from hindfoot.demo.patients import DURATION, LONDON, OTHER_SPECS, PAI_SPECS, SEED
from hindfoot.demo.stories import PatientStory
from hindfoot.outcomes.instruments import packaged_definition
from hindfoot.scheduling.clinic_setup import default_service_rows

if TYPE_CHECKING:
    from hindfoot.demo.stories.base import StoryBase


class ClinicBuilder:
    def __init__(self, session: Session, today: date) -> None:
        self.session = session
        self.today = today
        # "now" for a demo loaded as of today is the real time: nothing later today is seen or arrived yet
        real = datetime.now(UTC)
        self.now = real if real.astimezone(LONDON).date() == today else datetime.combine(
            today + timedelta(days=1), datetime.min.time(), tzinfo=LONDON).astimezone(UTC)
        self.rng = random.Random(SEED)
        self._idrng = random.Random(SEED + 1)
        self.rows: list[Base] = []
        self.busy: dict[tuple[str, date], list[tuple[datetime, datetime]]] = defaultdict(list)
        self.prac: dict[str, Practitioner] = {}
        self.loc: dict[str, Location] = {}
        self.acct: dict[str, UserAccount] = {}
        self.questionnaires: dict[str, Questionnaire] = {}
        self.blocked: list[tuple[str | None, str | None, date, date]] = []
        self.password_hash = hash_password(DEMO_PASSWORD)  # once: argon2 is slow on purpose
        self.used_names: set[tuple[str, str]] = set()
        self.noshow_done = False
        self.cancel_done = False

    # ---------------------------------------------------------------- helpers
    def id(self) -> uuid.UUID:
        return uuid.UUID(int=self._idrng.getrandbits(128), version=4)

    def add(self, row: Any) -> Any:
        if getattr(row, "id", None) is None and hasattr(type(row), "id"):
            row.id = self.id()
        self.rows.append(row)
        return row

    def at(self, day: date, hh: int = 12, mm: int = 0) -> datetime:
        return datetime.combine(day, time(hh, mm), tzinfo=LONDON).astimezone(UTC)

    def _free(self, key: str, day: date, start: datetime, end: datetime) -> bool:
        return all(end <= s or start >= e for s, e in self.busy[(key, day)])

    def _blocked(self, key: str, loc: str, day: date) -> bool:
        return any((p == key or lk == loc) and d1 <= day <= d2 for p, lk, d1, d2 in self.blocked)

    def slot(self, key: str, service: str, day: date, *, direction: int = 1,
             not_after: date | None = None, not_before: date | None = None,
             before: datetime | None = None) -> tuple[datetime, datetime, str] | None:
        """The first free time of practitioner `key` for `service` on `day` or the nearest working day."""
        rules = [r for r in cast.PRACTITIONERS[key]["rules"] if not r["services"] or service in r["services"]]  # type: ignore[attr-defined,index,operator,union-attr]
        minutes = DURATION.get(service, 30)
        for step in range(21):
            d = day + timedelta(days=step * direction)
            if (not_after and d > not_after) or (not_before and d < not_before):
                continue
            for rule in rules:
                if rule["weekday"] != d.weekday() or self._blocked(key, rule["location"], d):
                    continue
                first = datetime.combine(d, rule["start"])
                last = datetime.combine(d, rule["end"]) - timedelta(minutes=minutes)
                n = int((last - first).total_seconds() // 900) + 1
                offset = self.rng.randrange(max(n, 1))
                for k in range(n):
                    local = first + timedelta(minutes=15 * ((offset + k) % n))
                    start = local.replace(tzinfo=LONDON).astimezone(UTC)
                    end = start + timedelta(minutes=minutes)
                    if before is not None and end > before:
                        continue
                    if self._free(key, d, start, end):
                        self.busy[(key, d)].append((start, end))
                        return start, end, str(rule["location"])
        return None

    def visit(self, p: StoryBase, key: str, service: str, day: date, reason: str, note: str = "",
              *, direction: int = -1) -> Encounter | None:
        """A past encounter with its fulfilled appointment (never after today)."""
        found = self.slot(key, service, day, direction=direction, not_after=self.today, before=self.now)
        if found is None:
            return None
        start, end, loc = found
        enc = self.add(Encounter(
            patient_id=p.patient.id, episode_id=p.episode.id, practitioner_id=self.prac[key].id,
            location_id=self.loc[loc].id, type=service, status="finished", start=start, end=end,
            reason=reason, note=note,
        ))
        self.add(Appointment(
            patient_id=p.patient.id, practitioner_id=self.prac[key].id, location_id=self.loc[loc].id,
            episode_id=p.episode.id, service_type=service, status="fulfilled", start=start, end=end,
            reason=reason,
        ))
        return enc

    def book(self, p: StoryBase, key: str, service: str, day: date, reason: str) -> Appointment | None:
        """An upcoming booked appointment (after today)."""
        found = self.slot(key, service, max(day, self.today + timedelta(days=1)), direction=1,
                          not_before=self.today + timedelta(days=1))
        if found is None:
            return None
        start, end, loc = found
        return self.add(Appointment(
            patient_id=p.patient.id, practitioner_id=self.prac[key].id, location_id=self.loc[loc].id,
            episode_id=p.episode.id, service_type=service, status="booked", start=start, end=end,
            reason=reason,
        ))

    # ---------------------------------------------------------------- clinic
    def build(self) -> None:
        self.org = self.add(Organization(is_demo=True, **cast.ORGANIZATION))
        for key, fields in cast.LOCATIONS.items():
            self.loc[key] = self.add(Location(organization_id=self.org.id, **fields))
        for key, p in cast.PRACTITIONERS.items():
            prac = self.add(Practitioner(
                organization_id=self.org.id, prefix=p["prefix"], given_name=p["given_name"],
                family_name=p["family_name"], role=p["role"], qualification=p["qualification"],
                email=f"{p['account']}@{DEMO_EMAIL_DOMAIN}",
            ))
            self.prac[key] = prac
            self.acct[key] = self.add(UserAccount(
                email=f"{p['account']}@{DEMO_EMAIL_DOMAIN}", password_hash=self.password_hash,
                role=p["role"] if p["role"] in NON_CLINICAL_ROLES else "clinician", organization_id=self.org.id,
                practitioner_id=prac.id, display_name=prac.display_name,
            ))
            by_location: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for rule in p["rules"]:  # type: ignore[attr-defined]
                by_location[rule["location"]].append(rule)
            for loc_key, rules in by_location.items():
                sched = self.add(Schedule(practitioner_id=prac.id, location_id=self.loc[loc_key].id,
                                          comment=f"{prac.display_name} at {self.loc[loc_key].name}"))
                for rule in rules:
                    self.add(AvailabilityRule(schedule_id=sched.id, weekday=rule["weekday"],
                                              start_time=rule["start"], end_time=rule["end"],
                                              services=list(rule["services"])))
        for prac_key, closed_loc, first, last, reason in cast.EXCEPTIONS:
            d1, d2 = self.today + timedelta(days=first), self.today + timedelta(days=last)
            self.blocked.append((prac_key, closed_loc, d1, d2))
            self.add(AvailabilityException(
                practitioner_id=self.prac[prac_key].id if prac_key else None,
                location_id=self.loc[closed_loc].id if closed_loc else None,
                start=self.at(d1, 0, 0), end=self.at(d2 + timedelta(days=1), 0, 0), reason=reason,
            ))
        self._questionnaires()
        for n, spec in enumerate(PAI_SPECS + OTHER_SPECS, start=1):
            PatientStory(self, spec, n).build()
        for service_row in default_service_rows(self.org.id):  # last, so earlier seeded ids stay as they were
            self.add(service_row)

    def _questionnaires(self) -> None:
        for code in ("faos", "faam", "pain", "rts"):
            existing = self.session.scalar(select(Questionnaire).where(Questionnaire.code == code)
                                           .order_by(Questionnaire.created_at).limit(1))
            if existing is not None:
                self.questionnaires[code] = existing
                continue
            definition = packaged_definition(code)
            self.questionnaires[code] = self.add(Questionnaire(
                code=code, version=str(definition.get("version", "1")),
                title=str(definition["title"]), status="active",
                definition=definition,
            ))

    def write(self) -> None:
        """Insert table by table in foreign-key order: one flush per table, bulk parameters."""
        groups: dict[str, list[Base]] = defaultdict(list)
        for row in self.rows:
            groups[type(row).__table__.name].append(row)  # type: ignore[attr-defined]
        for table in Base.metadata.sorted_tables:
            if table.name in groups:
                self.session.add_all(groups[table.name])
                self.session.flush()
