"""Load the demo clinic: a fictional organisation with 50 patients spread over the whole PAI pathway.

`load_demo(session, today)` is idempotent (an existing demo organisation means nothing is done)
and transactional: it only adds and flushes; the caller's unit of work commits once. Every date is
relative to `today` and every random choice comes from seeded generators, so two loads with the
same `today` produce the same clinic (ids included).
"""

from __future__ import annotations

import random
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hindfoot.auth.passwords import hash_password
from hindfoot.db.base import Base
from hindfoot.db.models import (
    Appointment,
    AvailabilityException,
    AvailabilityRule,
    CarePlan,
    CarePlanActivity,
    Condition,
    DiagnosticReport,
    Encounter,
    EpisodeOfCare,
    ImagingStudy,
    Location,
    Observation,
    Organization,
    PathwayEvent,
    Patient,
    Practitioner,
    Procedure,
    Questionnaire,
    QuestionnaireResponse,
    Schedule,
    UserAccount,
)
from hindfoot.db.models.procedure import PROCEDURES
from hindfoot.demo import cast
from hindfoot.demo.cast import DEMO_EMAIL_DOMAIN, DEMO_PASSWORD
from hindfoot.outcomes.instruments import packaged_definition
from hindfoot.outcomes.scoring import score
from hindfoot.recovery.planner import build_plan
from hindfoot.scheduling.clinic_setup import default_service_rows

__all__ = ["DemoSummary", "demo_accounts", "load_demo"]

SEED = 20_240_611
OPEN_DAYS = timedelta(days=14)  # follow-ups that fell due this recently are still open (their window is ±14 days)
LONDON = ZoneInfo("Europe/London")
STAGES = (
    "enquiry", "assessment", "investigation", "conservative_care", "surgical_listing", "surgery",
    "post_op", "rehabilitation", "returned_to_sport", "discharged",
)
SURGICAL_STAGES = ("surgery", "post_op", "rehabilitation", "returned_to_sport", "discharged")

# evidence.md 8.1: (SNOMED CT, ICD-10 WHO)
CONDITION_CODES: dict[str, tuple[str, str, str]] = {
    "posterior_ankle_impingement": ("240021001", "M25.87", "Posterior ankle impingement"),
    "anterior_ankle_impingement": ("240021001", "M25.87", "Anterior ankle impingement"),
    "fhl_tenosynovitis": ("1290493007", "M65.87", "Flexor hallucis longus tenosynovitis"),
    "achilles_tendinopathy_midportion": ("11654001", "M76.6", "Mid-portion Achilles tendinopathy"),
    "lateral_ankle_sprain": ("44465007", "S93.4", "Lateral ankle ligament sprain"),
    "plantar_fasciitis": ("202882003", "M72.2", "Plantar fasciopathy"),
    "stress_fracture": ("240197007", "M84.37", "Stress fracture"),
}
# evidence.md 8.2 (CPT; no SNOMED procedure concept was found for posterior ankle arthroscopy)
PROCEDURE_CPT = {
    "posterior_arthroscopic_excision": "29999",
    "posterior_arthroscopic_debridement": "29898",
    "open_excision": "28120",
    "image_guided_injection": None,
}
DURATION = {  # minutes
    "new_consultation": 40, "follow_up": 20, "physiotherapy": 45, "image_guided_injection": 30,
    "imaging": 30, "day_case_surgery": 90, "nurse_dressing": 20, "telephone": 15,
}

# Clinical pictures (evidence.md 3.3): always present, present with probability, always absent.
PICTURES: dict[str, dict[str, Any]] = {
    "posterior_ankle_impingement": {
        "always": ["pain_back_of_ankle", "pain_on_pointing_toes", "hyperplantarflexion_test_positive"],
        "maybe": {"posterolateral_tenderness": 0.75, "onset_gradual": 0.65, "reduced_pointing_range": 0.6,
                  "pain_deep_hard_to_locate": 0.6, "pain_posterolateral": 0.55, "swelling_back_of_ankle": 0.4,
                  "clicking_or_cracking": 0.3, "pain_posteromedial": 0.3, "pain_at_rest_or_night": 0.2,
                  "giving_way": 0.2, "pain_on_push_off": 0.4},
        "absent": ["pain_achilles_midportion", "pain_under_heel", "cannot_bear_weight",
                   "thompson_test_positive", "hot_red_joint", "pain_front_of_ankle"],
    },
    "anterior_ankle_impingement": {
        "always": ["pain_front_of_ankle", "pain_on_pulling_toes_up", "hyperdorsiflexion_test_positive",
                   "anterior_joint_line_tenderness"],
        "maybe": {"after_ankle_sprain": 0.4, "repeated_sprains": 0.3, "swelling_whole_ankle": 0.25},
        "absent": ["pain_on_pointing_toes", "hyperplantarflexion_test_positive", "pain_back_of_ankle",
                   "cannot_bear_weight"],
    },
    "fhl_tenosynovitis": {
        "always": ["pain_posteromedial", "posteromedial_tenderness", "fhl_resisted_hallux_flexion_pain",
                   "repetitive_forced_plantarflexion"],
        "maybe": {"big_toe_pain_or_triggering": 0.6, "pain_on_push_off": 0.6, "pain_on_pointing_toes": 0.6},
        "absent": ["pain_posterolateral", "cannot_bear_weight", "burning_tingling_sole"],
    },
    "achilles_tendinopathy_midportion": {
        "always": ["pain_achilles_midportion", "achilles_midportion_thickened_tender", "onset_gradual"],
        "maybe": {"pain_first_steps_morning": 0.7, "warm_up_eases_pain": 0.65, "pain_on_push_off": 0.6,
                  "recent_training_increase": 0.5},
        "absent": ["palpable_gap_achilles", "thompson_test_positive", "fluoroquinolone_or_steroid",
                   "hyperplantarflexion_test_positive"],
    },
    "lateral_ankle_sprain": {
        "always": ["onset_sudden_injury", "injury_inversion", "pain_outer_ankle", "atfl_tenderness",
                   "duration_under_2_weeks"],
        "maybe": {"swelling_whole_ankle": 0.6, "anterior_drawer_positive": 0.4, "giving_way": 0.3},
        "absent": ["malleolar_bone_tenderness", "cannot_bear_weight", "pain_back_of_ankle"],
    },
    "plantar_fasciitis": {
        "always": ["pain_under_heel", "pain_first_steps_morning", "medial_calcaneal_tubercle_tenderness",
                   "onset_gradual"],
        "maybe": {"warm_up_eases_pain": 0.5, "recent_training_increase": 0.3},
        "absent": ["pain_back_of_ankle", "hyperplantarflexion_test_positive", "burning_tingling_sole"],
    },
    "stress_fracture": {
        "always": ["onset_gradual", "recent_training_increase", "calcaneal_squeeze_positive",
                   "low_energy_or_bone_health"],
        "maybe": {"pain_on_push_off": 0.6, "pain_at_rest_or_night": 0.35},
        "absent": ["onset_sudden_injury", "injury_inversion", "hyperplantarflexion_test_positive"],
    },
}
PLANTARFLEXION_SPORTS = {"ballet", "contemporary_dance", "football", "cricket_fast_bowling", "gymnastics", "rugby"}
SPORT_LABEL = {
    "ballet": "ballet", "contemporary_dance": "contemporary dance", "football": "football",
    "cricket_fast_bowling": "fast bowling", "gymnastics": "gymnastics", "running": "running",
    "rugby": "rugby", "tennis": "tennis", "none": "daily activities",
}


@dataclass
class DemoSummary:
    created: bool
    organization_id: uuid.UUID | None
    patients: int
    stage_counts: dict[str, int]
    accounts: list[tuple[str, str, str, str]]
    rows: dict[str, int] = field(default_factory=dict)
    password: str = DEMO_PASSWORD


@dataclass
class Spec:
    """One scripted patient: the pathway stage reached and the story behind it."""

    stage: str
    condition: str = "posterior_ankle_impingement"
    variant: str = "os_trigonum"  # os_trigonum | stieda | soft_tissue | other
    sport: str = "none"
    level: str | None = None
    procedure: str | None = None  # surgical procedure for surgical stages
    complication: str | None = None
    conservative_success: bool = False
    account: str | None = None
    name: tuple[str, str, str] | None = None  # given, family, sex
    age: int | None = None
    surgery_ago: int | None = None
    rts: str | None = None


PAI_SPECS: list[Spec] = [
    # enquiry
    Spec("enquiry", sport="ballet", level="competitive"),
    Spec("enquiry", sport="football", variant="soft_tissue"),
    Spec("enquiry", sport="gymnastics"),
    Spec("enquiry", sport="none", variant="stieda"),
    # assessment
    Spec("assessment", sport="contemporary_dance", variant="stieda"),
    Spec("assessment", sport="cricket_fast_bowling"),
    Spec("assessment", sport="football", variant="soft_tissue"),
    Spec("assessment", sport="ballet"),
    # investigation
    Spec("investigation", sport="ballet"),
    Spec("investigation", sport="rugby", variant="soft_tissue"),
    Spec("investigation", sport="gymnastics", variant="stieda"),
    Spec("investigation", sport="football"),
    # conservative care
    Spec("conservative_care", sport="ballet", account="patient4"),
    Spec("conservative_care", sport="football", variant="soft_tissue"),
    Spec("conservative_care", sport="cricket_fast_bowling"),
    Spec("conservative_care", sport="contemporary_dance", variant="stieda"),
    Spec("conservative_care", sport="none", variant="soft_tissue"),
    # listed for surgery after failed conservative care
    Spec("surgical_listing", sport="ballet", level="professional", procedure="posterior_arthroscopic_excision"),
    Spec("surgical_listing", sport="football", level="professional", procedure="posterior_arthroscopic_excision"),
    Spec("surgical_listing", sport="cricket_fast_bowling", variant="stieda", procedure="posterior_arthroscopic_excision"),
    Spec("surgical_listing", sport="gymnastics", procedure="posterior_arthroscopic_excision"),
    # day of surgery / pre-op done
    Spec("surgery", sport="football", level="professional", procedure="posterior_arthroscopic_excision", surgery_ago=0),
    Spec("surgery", sport="ballet", procedure="posterior_arthroscopic_excision", surgery_ago=-1),
    Spec("surgery", sport="rugby", variant="soft_tissue", procedure="posterior_arthroscopic_debridement", surgery_ago=-1),
    # post-op week 1
    Spec("post_op", sport="ballet", level="professional", procedure="posterior_arthroscopic_excision", account="patient2"),
    Spec("post_op", sport="football", procedure="posterior_arthroscopic_excision"),
    Spec("post_op", sport="contemporary_dance", variant="stieda", procedure="posterior_arthroscopic_excision"),
    Spec("post_op", sport="none", procedure="open_excision"),
    # rehabilitation
    Spec("rehabilitation", sport="ballet", level="professional", procedure="posterior_arthroscopic_excision",
         account="patient", name=("Isabel", "Thornbury", "female"), age=24, surgery_ago=48),
    Spec("rehabilitation", sport="football", procedure="posterior_arthroscopic_excision", surgery_ago=30),
    Spec("rehabilitation", sport="cricket_fast_bowling", variant="stieda", procedure="posterior_arthroscopic_excision",
         complication="Transient sural nerve numbness (posterolateral portal), resolving", surgery_ago=40),
    Spec("rehabilitation", sport="gymnastics", procedure="posterior_arthroscopic_excision", surgery_ago=20),
    Spec("rehabilitation", sport="running", variant="soft_tissue", procedure="posterior_arthroscopic_debridement",
         surgery_ago=60),
    # returned to sport
    Spec("returned_to_sport", sport="football", level="professional", procedure="posterior_arthroscopic_excision",
         surgery_ago=100, rts="returned_previous_level", account="patient3"),
    Spec("returned_to_sport", sport="ballet", procedure="posterior_arthroscopic_excision", surgery_ago=130,
         rts="returned_previous_level"),
    Spec("returned_to_sport", sport="rugby", variant="soft_tissue", procedure="posterior_arthroscopic_debridement",
         surgery_ago=90, rts="returned_higher_level"),
    Spec("returned_to_sport", sport="cricket_fast_bowling", procedure="posterior_arthroscopic_excision",
         surgery_ago=150, rts="returned_lower_level"),
    Spec("returned_to_sport", sport="football", variant="soft_tissue", conservative_success=True),
    # discharged
    Spec("discharged", sport="ballet", procedure="open_excision", surgery_ago=330, rts="returned_previous_level",
         complication="Superficial wound infection, settled with oral antibiotics"),
    Spec("discharged", sport="football", procedure="posterior_arthroscopic_excision", surgery_ago=390,
         rts="returned_previous_level"),
    Spec("discharged", sport="gymnastics", variant="stieda", procedure="posterior_arthroscopic_excision",
         surgery_ago=230, rts="returned_previous_level"),
    Spec("discharged", sport="none", variant="soft_tissue", procedure="posterior_arthroscopic_debridement",
         surgery_ago=260, rts="returned_previous_level"),
    Spec("discharged", sport="contemporary_dance", variant="soft_tissue", conservative_success=True),
]
OTHER_SPECS: list[Spec] = [
    Spec("conservative_care", condition="achilles_tendinopathy_midportion", variant="other", sport="running"),
    Spec("conservative_care", condition="fhl_tenosynovitis", variant="other", sport="ballet"),
    Spec("assessment", condition="lateral_ankle_sprain", variant="other", sport="rugby"),
    Spec("investigation", condition="anterior_ankle_impingement", variant="other", sport="football"),
    Spec("conservative_care", condition="plantar_fasciitis", variant="other", sport="none"),
    Spec("investigation", condition="stress_fracture", variant="other", sport="running"),
    Spec("discharged", condition="lateral_ankle_sprain", variant="other", sport="tennis", conservative_success=True),
]


# --------------------------------------------------------------------------------------------
# public API


def demo_accounts(session: Session) -> list[tuple[str, str, str, str]]:
    """One account per role for the login page: (role, email, display name, description)."""
    org_id = session.scalar(select(Organization.id).where(Organization.is_demo).limit(1))
    if org_id is None:
        return []
    wanted = [
        ("admin", "admin", "Administrator"),
        ("surgeon", "surgeon", "Clinician (surgeon)"),
        ("physio", "physio", "Clinician (physiotherapist)"),
        ("nurse", "nurse", "Clinician (nurse)"),
        ("patient", "patient", "Patient"),
    ]
    emails = [f"{local}@{DEMO_EMAIL_DOMAIN}" for local, _, _ in wanted]
    accounts = {a.email: a for a in session.scalars(
        select(UserAccount).where(UserAccount.organization_id == org_id, UserAccount.email.in_(emails))
    )}
    descriptions = {p["account"]: str(p["description"]) for p in cast.PRACTITIONERS.values()}
    descriptions["patient"] = "Ballet dancer seven weeks after posterior ankle arthroscopy, in rehabilitation"
    out: list[tuple[str, str, str, str]] = []
    for (_local, key, label), email in zip(wanted, emails, strict=True):
        account = accounts.get(email)
        if account is not None:
            out.append((label, email, account.display_name, descriptions.get(key, "")))
    return out


def load_demo(session: Session, today: date) -> DemoSummary:
    """Create the demo clinic unless one exists. Adds and flushes only; the caller commits."""
    existing = session.scalar(select(Organization).where(Organization.is_demo).limit(1))
    if existing is not None:
        return _summary(session, existing.id, created=False)
    builder = _Builder(session, today)
    builder.build()
    builder.write()
    summary = _summary(session, builder.org.id, created=True)
    summary.rows = dict(sorted(Counter(type(r).__name__ for r in builder.rows).items()))
    return summary


def _summary(session: Session, org_id: uuid.UUID, *, created: bool) -> DemoSummary:
    patients = session.scalar(select(func.count()).select_from(Patient).where(Patient.organization_id == org_id)) or 0
    stage_rows = session.execute(
        select(EpisodeOfCare.stage, func.count()).where(EpisodeOfCare.organization_id == org_id)
        .group_by(EpisodeOfCare.stage)
    ).all()
    counts = {stage: 0 for stage in STAGES}
    counts.update({stage: n for stage, n in stage_rows})
    return DemoSummary(created=created, organization_id=org_id, patients=patients, stage_counts=counts,
                       accounts=demo_accounts(session))


# --------------------------------------------------------------------------------------------
# builder


FAOS_ITEMS = {
    "symptoms": [f"S{i}" for i in range(1, 8)], "pain": [f"P{i}" for i in range(1, 10)],
    "adl": [f"A{i}" for i in range(1, 18)], "sport_rec": [f"SP{i}" for i in range(1, 6)],
    "qol": [f"Q{i}" for i in range(1, 5)],
}
FAAM_ITEMS = {"adl": [f"ADL{i}" for i in range(1, 22)], "sports": [f"SPORTS{i}" for i in range(1, 9)]}


def _score(code: str, answers: dict[str, Any]) -> dict[str, float]:
    result = score(code, answers)
    return {k: v for k, v in result["scores"].items() if v is not None}


class _Builder:
    def __init__(self, session: Session, today: date) -> None:
        self.session = session
        self.today = today
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
             not_after: date | None = None, not_before: date | None = None) -> tuple[datetime, datetime, str] | None:
        """The first free time of practitioner `key` for `service` on `day` or the nearest working day."""
        rules = [r for r in cast.PRACTITIONERS[key]["rules"] if not r["services"] or service in r["services"]]  # type: ignore[index,operator,union-attr]
        minutes = DURATION.get(service, 30)
        for step in range(0, 21):
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
                    if self._free(key, d, start, end):
                        self.busy[(key, d)].append((start, end))
                        return start, end, str(rule["location"])
        return None

    def visit(self, p: _P, key: str, service: str, day: date, reason: str, note: str = "",
              *, direction: int = -1) -> Encounter | None:
        """A past encounter with its fulfilled appointment (never after today)."""
        found = self.slot(key, service, day, direction=direction, not_after=self.today)
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

    def book(self, p: _P, key: str, service: str, day: date, reason: str) -> Appointment | None:
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
                role="admin" if p["role"] == "admin" else "clinician", organization_id=self.org.id,
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
        for prac_key, loc_key, first, last, reason in cast.EXCEPTIONS:
            d1, d2 = self.today + timedelta(days=first), self.today + timedelta(days=last)
            self.blocked.append((prac_key, loc_key, d1, d2))
            self.add(AvailabilityException(
                practitioner_id=self.prac[prac_key].id if prac_key else None,
                location_id=self.loc[loc_key].id if loc_key else None,
                start=self.at(d1, 0, 0), end=self.at(d2 + timedelta(days=1), 0, 0), reason=reason,
            ))
        self._questionnaires()
        for n, spec in enumerate(PAI_SPECS + OTHER_SPECS, start=1):
            _P(self, spec, n).build()
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


class _P:
    """One patient's story, written forward in time from the first contact."""

    def __init__(self, b: _Builder, spec: Spec, n: int) -> None:
        self.b, self.s, self.n = b, spec, n
        self.rng = b.rng
        self.today = b.today

    # ------------------------------------------------------------ identity and dates
    def _identity(self) -> None:
        rng, s = self.rng, self.s
        age_range, female_share, levels = cast.SPORT_PROFILES[s.sport]
        if s.name:
            given, family, sex = s.name
        else:
            sex = "female" if rng.random() < female_share else "male"
            while True:
                given = rng.choice(cast.FEMALE_NAMES if sex == "female" else cast.MALE_NAMES)
                family = rng.choice(cast.FAMILY_NAMES)
                if family not in {f for _, f in self.b.used_names}:
                    break
        self.b.used_names.add((given, family))
        age = s.age or rng.randint(*age_range)
        if s.condition == "plantar_fasciitis":
            age = rng.randint(42, 58)
        level = s.level or rng.choice(levels)
        if s.sport == "none":
            level = "recreational"
        birth = self.today - timedelta(days=365 * age + rng.randint(10, 350) + age // 4)
        email = (f"{s.account}@{DEMO_EMAIL_DOMAIN}" if s.account
                 else f"{given.lower()}.{family.lower().replace(chr(39), '')}@example.com")
        self.patient = self.b.add(Patient(
            organization_id=self.b.org.id, identifier=f"HF-D{self.n:05d}", given_name=given,
            family_name=family, birth_date=birth, sex=sex, email=email,
            phone=f"07700 900{self.n * 7 % 1000:03d}", sport=s.sport, level=level,
        ))
        early = s.stage in ("enquiry", "assessment", "investigation", "conservative_care")
        self.side = rng.choice(["right", "right", "left", "left", "bilateral"] if s.sport == "ballet" and early
                               else ["right", "left"])
        self.ankle = "both ankles" if self.side == "bilateral" else f"{self.side} ankle"
        self.sport_text = SPORT_LABEL.get(s.sport, s.sport)
        if s.account:
            self.account = self.b.add(UserAccount(
                email=email, password_hash=self.b.password_hash, role="patient",
                organization_id=self.b.org.id, patient_id=self.patient.id, display_name=f"{given} {family}",
            ))

    def _dates(self) -> None:
        """Key dates, chosen backwards from where the patient is today."""
        rng, s, t = self.rng, self.s, self.today
        d = lambda a, b: timedelta(days=rng.randint(a, b))  # noqa: E731
        self.S = self.L = self.C = self.MRI = self.A = self.E = None  # type: ignore[assignment]
        self.inj = self.rts_day = self.discharge = None  # type: ignore[assignment]
        if s.stage in SURGICAL_STAGES and not s.conservative_success:
            ago = s.surgery_ago if s.surgery_ago is not None else {
                "post_op": rng.randint(1, 6), "rehabilitation": rng.randint(15, 75),
                "returned_to_sport": rng.randint(80, 200), "discharged": rng.randint(200, 400)}[s.stage]
            self.S = t - timedelta(days=ago)
            self.L = self.S - d(21, 42)
            self.C = self.L - d(63, 98)
            self.rts_planned = self.rts_day_planned()
            if s.stage in ("post_op", "rehabilitation", "surgery"):
                self.rts_planned = max(self.rts_planned, t + timedelta(days=7))
            elif s.stage in ("returned_to_sport", "discharged"):
                self.rts_planned = min(self.rts_planned, t - timedelta(days=3))
        elif s.stage == "surgical_listing":
            self.L = t - d(3, 25)
            self.C = self.L - d(63, 98)
        elif s.conservative_success:
            days_back = rng.randint(120, 180) if s.stage == "returned_to_sport" else rng.randint(240, 320)
            self.C = t - timedelta(days=days_back)
        elif s.stage == "conservative_care":
            self.C = t - d(7, 70)
        elif s.stage == "investigation":
            self.A = t - d(5, 16)
        elif s.stage == "assessment":
            self.A = t - d(1, 6)
        else:  # enquiry
            self.E = t - d(0, 4)
        if self.C is not None:
            self.MRI = self.C - d(5, 10)
            self.A = self.MRI - d(4, 10)
        if self.A is not None:
            self.E = self.A - d(4, 14)

    # ------------------------------------------------------------ main
    def build(self) -> None:
        s = self.s
        self._identity()
        self._dates()
        self.clinician = ("okafor" if s.condition in {"achilles_tendinopathy_midportion", "plantar_fasciitis",
                                                       "stress_fracture", "lateral_ankle_sprain"}
                          or (s.stage in {"enquiry", "assessment", "investigation", "conservative_care"}
                              and self.rng.random() < 0.35)
                          else ("raman" if s.sport in {"ballet", "contemporary_dance", "gymnastics"}
                                or self.rng.random() < 0.3 else "whitlock"))
        self.surgeon = self.clinician if self.clinician != "okafor" else (
            "raman" if s.sport in {"ballet", "contemporary_dance"} else "whitlock")
        self.physio = "ellis" if s.sport in {"ballet", "contemporary_dance", "gymnastics"} else "boateng"
        cond_name = CONDITION_CODES[s.condition][2]
        variant = {"os_trigonum": " (os trigonum)", "stieda": " (Stieda process)",
                   "soft_tissue": " (soft-tissue, after sprain)"}.get(s.variant, "")
        self.episode = self.b.add(EpisodeOfCare(
            patient_id=self.patient.id, organization_id=self.b.org.id,
            title=f"{self.side.capitalize()} {cond_name.lower() if s.condition != 'posterior_ankle_impingement' else 'posterior ankle impingement'}{variant}",
            condition_code=s.condition, laterality=self.side, stage=s.stage,
            status="finished" if s.stage == "discharged" else "active",
            period_start=self.E, care_manager_id=self.b.prac[self.clinician].id,
        ))
        self.stage = None
        self.condition: Condition | None = None
        self._enquiry()
        if s.stage == "enquiry":
            return
        self._assessment()
        if s.stage == "assessment":
            return
        self._investigation()
        if s.stage == "investigation":
            return
        self._conservative()
        if s.stage == "conservative_care":
            return
        if s.conservative_success:
            return self._conservative_outcome()
        self._listing()
        if s.stage == "surgical_listing":
            return
        self._surgery()
        if s.stage == "surgery":
            return
        self._post_op()
        if s.stage == "post_op":
            return
        self._rehab()
        if s.stage != "rehabilitation":
            self._returned()
            if s.stage == "discharged":
                self._discharged()
        self.post_op_proms()

    def event(self, to: str, when: datetime, reason: str, by: str | None) -> None:
        self.b.add(PathwayEvent(
            episode_id=self.episode.id, from_stage=self.stage, to_stage=to, reason=reason, recorded_at=when,
            recorded_by_id=self.b.acct[by].id if by else None,
        ))
        self.stage = to

    def observe(self, category: str, code: str, present: bool, when: datetime, *, enc: Encounter | None = None,
                report: DiagnosticReport | None = None, performer: str | None = None, note: str = "") -> None:
        self.b.add(Observation(
            patient_id=self.patient.id, episode_id=self.episode.id, encounter_id=enc.id if enc else None,
            diagnostic_report_id=report.id if report else None, category=category, code=code,
            value_boolean=present, effective_at=when, note=note,
            performer_id=self.b.prac[performer].id if performer else None,
        ))

    # ------------------------------------------------------------ stages
    def _enquiry(self) -> None:
        s = self.s
        when = self.b.at(self.E, self.rng.randint(8, 21), self.rng.choice([0, 15, 30, 45]))
        how = self.rng.choice(["Booked online", "Booked by telephone", "Booked online after a physiotherapist's advice"])
        if self.E.weekday() >= 5 and "telephone" in how:
            how = "Booked online"
        elif "telephone" in how:
            when = self.b.at(self.E, self.rng.randint(9, 16), self.rng.choice([0, 15, 30, 45]))
        complaint = {
            "posterior_ankle_impingement": f"pain at the back of the {self.ankle} when pointing the foot ({self.sport_text})",
            "anterior_ankle_impingement": f"pain at the front of the {self.ankle} when squatting and kicking",
            "fhl_tenosynovitis": f"pain behind the inner {self.ankle} and big toe in relevé",
            "achilles_tendinopathy_midportion": f"painful {self.side} Achilles tendon, worse in the morning",
            "lateral_ankle_sprain": f"rolled the {self.ankle} {self.rng.randint(2, 6)} days ago",
            "plantar_fasciitis": f"pain under the {self.side} heel with the first steps in the morning",
            "stress_fracture": f"{self.side} heel pain building up with training",
        }[s.condition]
        self.event("enquiry", when, f"{how}: {complaint}. No referral needed.",
                   "aldridge" if "telephone" in how else None)
        # self-reported history from the online booking form
        self.history(when, self_reported=True)
        if s.stage == "enquiry":
            self.proms("baseline", self.E, severity=self.rng.uniform(0.5, 0.7))
            self.b.book(self, self.clinician, "new_consultation", self.E + timedelta(days=self.rng.randint(5, 12)),
                        "New consultation: " + complaint)

    def history(self, when: datetime, *, self_reported: bool = False, enc: Encounter | None = None) -> None:
        pic = PICTURES[self.s.condition]
        if not hasattr(self, "_findings"):
            rng = self.rng
            present = set(pic["always"])
            for fid, p in pic["maybe"].items():
                if rng.random() < p:
                    present.add(fid)
            absent = set(pic["absent"])
            if self.s.condition == "posterior_ankle_impingement":
                if self.s.sport in PLANTARFLEXION_SPORTS or rng.random() < 0.3:
                    present.add("repetitive_forced_plantarflexion")
                if self.s.variant == "soft_tissue":
                    present |= {"after_ankle_sprain", "injury_inversion"}
                    present.discard("onset_gradual")
                else:
                    absent.add("after_ankle_sprain")
                present.add("duration_over_3_months")
            self._findings = (present, absent - present)
        groups = _finding_groups()
        present, absent = self._findings
        for fid in sorted(present | absent):
            group = groups[fid]
            if self_reported and group != "history":
                continue
            if not self_reported and group not in ("history", "exam"):
                continue
            if self_reported and fid in absent:
                continue
            self.observe(group, fid, fid in present, when, enc=enc,
                         performer=None if self_reported else self.clinician,
                         note="Self-reported on the booking form" if self_reported else "")

    def _assessment(self) -> None:
        s = self.s
        enc = self.b.visit(self, self.clinician, "new_consultation", self.A,
                           "New consultation", "History and examination; plan discussed.")
        assert enc is not None
        self.A = enc.start.date()
        self.assessment_enc = enc
        self.history(enc.start + timedelta(minutes=20), enc=enc)
        self.proms("baseline", self.A, severity=self.rng.uniform(0.5, 0.72), when=enc.start - timedelta(hours=2))
        snomed, icd, display = CONDITION_CODES[s.condition]
        self.condition = self.b.add(Condition(
            patient_id=self.patient.id, episode_id=self.episode.id, code=s.condition, display=display,
            snomed_code=snomed, icd10_code=icd, clinical_status="active", verification_status="provisional",
            laterality=self.side, onset_date=self.E - timedelta(days=self.rng.randint(60, 300))
            if s.condition != "lateral_ankle_sprain" else self.E - timedelta(days=self.rng.randint(2, 6)),
            recorded_at=enc.start + timedelta(minutes=35), recorder_id=self.b.prac[self.clinician].id,
            note="Clinical diagnosis at first consultation.",
        ))
        self.event("assessment", enc.end, f"Seen by {self.b.prac[self.clinician].display_name}: provisional "
                   f"{display.lower()}.", self.clinician)
        if s.stage == "assessment":
            if s.condition == "lateral_ankle_sprain":
                self.b.book(self, self.physio, "physiotherapy", self.A + timedelta(days=3),
                            "Early functional rehabilitation after sprain")
            else:
                self.b.book(self, "lindqvist", "imaging", self.A + timedelta(days=self.rng.randint(3, 8)),
                            "MRI ankle")
        elif s.condition == "lateral_ankle_sprain":
            pass

    def _imaging(self, modality: str, day: date, findings: dict[str, bool], description: str,
                 conclusion: str, *, at: Encounter | None = None) -> None:
        if at is not None:  # in-clinic X-ray straight after the consultation
            start, end = at.end + timedelta(minutes=10), at.end + timedelta(minutes=25)
            loc = next(k for k, v in self.b.loc.items() if v.id == at.location_id)
        else:
            found = (self.b.slot("lindqvist", "imaging", day, direction=1, not_before=self.A + timedelta(days=1),
                                 not_after=self.today - timedelta(days=1))
                     or self.b.slot("lindqvist", "imaging", day, direction=-1, not_before=self.A + timedelta(days=1),
                                    not_after=self.today - timedelta(days=1)))
            if found is None:
                return
            start, end, loc = found
        study = self.b.add(ImagingStudy(
            patient_id=self.patient.id, episode_id=self.episode.id, modality=modality, description=description,
            laterality=self.side, started_at=start, location_id=self.b.loc[loc].id,
        ))
        report = self.b.add(DiagnosticReport(
            patient_id=self.patient.id, episode_id=self.episode.id, imaging_study_id=study.id, category="imaging",
            code=f"{modality.lower()}_ankle", conclusion=conclusion, issued_at=end + timedelta(hours=3),
            performer_id=self.b.prac["lindqvist"].id,
        ))
        for fid, present in findings.items():
            self.observe("imaging", fid, present, end + timedelta(hours=3), report=report, performer="lindqvist")

    def _imaging_findings(self) -> tuple[dict[str, bool], str, dict[str, bool], str, str]:
        """(X-ray findings, X-ray conclusion, MRI findings, MRI conclusion, MRI modality)."""
        rng, v, c = self.rng, self.s.variant, self.s.condition
        if c == "posterior_ankle_impingement":
            xr = {"xray_os_trigonum": v == "os_trigonum", "xray_stieda_process": v == "stieda",
                  "xray_fracture": False}
            xr_text = {"os_trigonum": f"Lateral {self.ankle}: well-corticated os trigonum, {rng.randint(7, 14)} mm. No fracture.",
                       "stieda": f"Lateral {self.ankle}: elongated posterolateral talar process (Stieda process). No fracture.",
                       "soft_tissue": f"{self.ankle.capitalize()}: no bony abnormality, no os trigonum."}[v]
            mri = {"mri_posterior_bone_oedema": v != "soft_tissue" and rng.random() < 0.75,
                   "mri_posterior_synovitis": v == "soft_tissue" or rng.random() < 0.6,
                   "mri_fhl_tenosynovitis": rng.random() < 0.4}
            parts = []
            if mri["mri_posterior_bone_oedema"]:
                parts.append("bone marrow oedema across the os trigonum synchondrosis" if v == "os_trigonum"
                             else "oedema in the posterior talar process")
            if mri["mri_posterior_synovitis"]:
                parts.append("posterior synovitis and capsular thickening")
            if mri["mri_fhl_tenosynovitis"]:
                parts.append("fluid in the FHL tendon sheath")
            text = "; ".join(parts) or "posterior soft-tissue thickening only"
            return xr, xr_text, mri, f"Findings consistent with posterior ankle impingement: {text}.", "MR"
        if c == "anterior_ankle_impingement":
            return ({"xray_anterior_osteophytes": True, "xray_os_trigonum": False},
                    "Anterior tibial and talar neck osteophytes ('kissing spurs').",
                    {"mri_osteochondral_lesion": False},
                    "Anterolateral synovitis; no osteochondral lesion.", "MR")
        if c == "fhl_tenosynovitis":
            return ({"xray_os_trigonum": False}, "No os trigonum; normal ankle.",
                    {"mri_fhl_tenosynovitis": True, "mri_posterior_bone_oedema": False},
                    "Fluid and thickening around the FHL tendon at the fibro-osseous tunnel; no bony impingement.", "MR")
        if c == "achilles_tendinopathy_midportion":
            return ({}, "", {"mri_achilles_tendinosis": True, "imaging_achilles_rupture": False},
                    "Fusiform thickening of the mid-portion Achilles tendon (9 mm) with neovascularity; no tear.", "US")
        if c == "stress_fracture":
            return ({"xray_fracture": False}, "No fracture line visible.",
                    {"mri_stress_reaction": True},
                    "Calcaneal stress fracture: band of marrow oedema with a low-signal fracture line.", "MR")
        if c == "lateral_ankle_sprain":
            return ({}, "", {"mri_lateral_ligament_tear": True},
                    "Ultrasound: partial-thickness tear of the anterior talofibular ligament; CFL intact.", "US")
        if c == "plantar_fasciitis":
            return ({}, "", {},
                    "Plantar fascia thickened (6 mm) at the medial calcaneal tubercle.", "US")
        return {}, "", {}, "", "MR"

    def _investigation(self) -> None:
        xr, xr_text, mri, mri_text, modality = self._imaging_findings()
        if xr:
            self._imaging("XR", self.A, xr, f"{self.ankle.capitalize()}, weight-bearing AP and lateral", xr_text,
                          at=self.assessment_enc)
        when = self.assessment_enc.end + timedelta(minutes=30)
        self.event("investigation", when, "Imaging requested: " + (
            "X-ray done in clinic, MRI booked." if xr and modality == "MR" else
            "ultrasound booked." if modality == "US" else "MRI booked."), self.clinician)
        mri_day = self.MRI or (self.A + timedelta(days=self.rng.randint(3, 8)))
        label = "MRI" if modality == "MR" else "Ultrasound"
        if mri_day <= self.today - timedelta(days=1):
            self._imaging(modality, mri_day, mri, f"{label} {self.ankle}", mri_text)
            self.MRI = mri_day
        else:
            self.b.book(self, "lindqvist", "imaging", mri_day, f"{label} {self.ankle}")
            self.MRI = None
        if self.s.stage == "investigation":
            self.b.book(self, self.clinician, "follow_up", (self.MRI or mri_day) + timedelta(days=5),
                        "Results of investigations")

    def _confirm(self, when: datetime, how: str = "imaging and review") -> None:
        if self.condition is not None and self.condition.verification_status != "confirmed":
            self.condition.verification_status = "confirmed"
            self.condition.note += f" Confirmed on {how} ({when.date().isoformat()})."
        elif self.condition is not None:
            self.condition.note += f" Findings confirmed at {how} ({when.date().isoformat()})."

    def _conservative(self) -> None:
        s, rng = self.s, self.rng
        enc = self.b.visit(self, self.clinician, "follow_up", self.C, "Results of investigations",
                           "Imaging reviewed. Stepped conservative care agreed.")
        assert enc is not None
        self.C = enc.start.date()
        self._confirm(enc.start)
        self.event("conservative_care", enc.end, "Diagnosis confirmed; conservative care: relative rest, "
                   "strapping, physiotherapy" + (", image-guided injection if not settling." if
                                                s.condition == "posterior_ankle_impingement" else "."), self.clinician)
        plan_end = self.L or self.rts_day_estimate()
        # weekly physiotherapy until listing / today / success
        last = min(self.today, (self.L or self.today) - timedelta(days=7))
        if s.conservative_success:
            last = self.C + timedelta(days=40)
        day = self.C + timedelta(days=rng.randint(2, 6))
        k = 0
        while day <= last:
            k += 1
            if not self.b.noshow_done and s.stage == "conservative_care" and k == 2:
                self._missed(day)
            else:
                self.b.visit(self, self.physio, "physiotherapy", day, f"Physiotherapy session {k}",
                             rng.choice(["Mid-range calf and FHL strengthening; balance work.",
                                         "Mobility, intrinsic foot strength, technique review.",
                                         "Progressed loading; end-range work still provocative.",
                                         "Strapping reviewed; single-leg heel raise 15 reps."]))
            day += timedelta(days=rng.randint(6, 9))
        if s.condition == "posterior_ankle_impingement":
            inj_day = self.C + timedelta(days=rng.randint(21, 35))
            if inj_day <= self.today - timedelta(days=1) and (self.L is None or inj_day < self.L - timedelta(days=14)):
                self._injection(inj_day, lasting=s.conservative_success or (s.stage == "conservative_care"
                                                                              and rng.random() < 0.6))
            elif s.stage == "conservative_care":
                self.b.book(self, "lindqvist", "image_guided_injection", inj_day,
                            "Ultrasound-guided posterior ankle injection")
        if s.stage == "conservative_care":
            self.b.book(self, self.physio, "physiotherapy", self.today + timedelta(days=rng.randint(1, 6)),
                        "Physiotherapy")
            self.b.book(self, self.clinician, "follow_up", self.C + timedelta(days=rng.randint(42, 84)),
                        "Review of conservative care")
        for tp, days in (("6w", 42), ("3m", 91)):
            due = self.C + timedelta(days=days)
            if due <= self.today and (self.L is None or due < self.L):
                sev = 0.45 if not s.conservative_success else (0.25 if tp == "6w" else 0.12)
                self.proms(tp, due, severity=sev + rng.uniform(-0.05, 0.05))
        self.conservative_plan(plan_end)

    def rts_day_estimate(self) -> date:
        return self.C + timedelta(days=70)

    def _missed(self, day: date) -> None:
        found = self.b.slot(self.physio, "physiotherapy", day, direction=-1, not_after=self.today)
        if found is None:
            return
        start, end, loc = found
        self.b.add(Appointment(
            patient_id=self.patient.id, practitioner_id=self.b.prac[self.physio].id,
            location_id=self.b.loc[loc].id, episode_id=self.episode.id, service_type="physiotherapy",
            status="noshow", start=start, end=end, reason="Physiotherapy session 2",
            note="Did not attend; patient phoned later (rehearsal clash). Rebooked.",
        ))
        self.b.noshow_done = True

    def _injection(self, day: date, *, lasting: bool) -> None:
        enc = self.b.visit(self, "lindqvist", "image_guided_injection", day,
                           "Ultrasound-guided posterior ankle injection",
                           "1 ml triamcinolone 40 mg with 2 ml 1% lidocaine to the posterior capsule / os trigonum region.")
        if enc is None:
            return
        self.inj = enc.start.date()
        self.b.add(Procedure(
            patient_id=self.patient.id, episode_id=self.episode.id, code="image_guided_injection",
            display=PROCEDURES["image_guided_injection"], cpt_code=None, status="completed",
            performed_at=enc.start + timedelta(minutes=10), performer_id=self.b.prac["lindqvist"].id,
            location_id=enc.location_id, laterality=self.side,
            note="Diagnostic and therapeutic." + (" Durable relief." if lasting else
                                                 " Good relief for about three weeks, then recurrence."),
        ))
        self.observe("tests", "posterior_injection_relief", True, enc.end + timedelta(minutes=20), enc=enc,
                     performer="lindqvist", note="Pain on hyperplantarflexion 7/10 before, 1/10 at 20 minutes.")

    def conservative_plan(self, end: date | None) -> None:
        s, C, t = self.s, self.C, self.today
        finished = self.L is not None or s.conservative_success
        plan = self.b.add(CarePlan(
            patient_id=self.patient.id, episode_id=self.episode.id,
            title="Conservative care: " + CONDITION_CODES[s.condition][2].lower(), kind="conservative",
            sport=s.sport, level=self.patient.level, status="completed" if finished else "active",
            period_start=C, period_end=end if finished else None, author_id=self.b.prac[self.clinician].id,
            description=("Stepped care (evidence.md 5.1, 6.2): settle, restore, reload, return; "
                         "escalate if no durable relief after 6-12 weeks." if s.condition == "posterior_ankle_impingement"
                         else "Load management and progressive loading programme."),
        ))
        steps = [
            ("relative_rest", "Relative rest from end-range plantar flexion", "settle", 0, 7, 14,
             ["Pain ≤2/10 in daily activities"]),
            ("strapping", "Strapping to block end-range plantar flexion", "settle", 0, 7, 14, []),
            ("analgesia_ice", "Ice and simple analgesia as needed", "settle", 0, 7, 14, []),
            ("physio_restore", "Physiotherapy: mobility, calf/FHL/intrinsic strength, balance", "restore", 14, 28, 42,
             ["Pain-free loaded mid-range plantar flexion", "Single-leg heel raise ≥80% of other side"]),
            ("physio_reload", "Progressive end-range work and plyometrics", "reload", 28, 42, 56,
             ["Hyperplantarflexion pain-free or ≤2/10"]),
            ("graded_return", f"Graded return to {self.sport_text}", "return", 42, 56, 70,
             ["Full sport drills pain-free"]),
        ]
        if s.condition == "posterior_ankle_impingement":
            steps.insert(4, ("image_guided_injection", "Image-guided posterior ankle injection if not settling",
                             "treatment", 21, 28, 42, []))
        steps.append(("review", "Specialist review", "review", 42, 63, 84, []))
        for pos, (code, title, cat, e, ty, la, crit) in enumerate(steps):
            typical = C + timedelta(days=ty)
            if code == "image_guided_injection" and self.inj:
                status, done = "completed", self.inj
            elif code == "image_guided_injection" and finished:
                status, done = "cancelled", None
            elif typical <= t and (not finished or code not in ("graded_return",) or s.conservative_success):
                status, done = "completed", typical
            elif C + timedelta(days=e) <= t and not finished:
                status, done = "in-progress", None
            else:
                status, done = ("cancelled" if finished else "not-started"), None
            if self.L is not None and code == "graded_return":
                status, done = "cancelled", None
            self.b.add(CarePlanActivity(
                care_plan_id=plan.id, position=pos, code=code, title=title, category=cat, status=status,
                earliest=C + timedelta(days=e), typical=typical, latest=C + timedelta(days=la),
                completed_on=done, criteria=crit, criteria_met=[status == "completed"] * len(crit),
                source="evidence.md 5.1, 6.2",
            ))

    def _conservative_outcome(self) -> None:
        s, rng = self.s, self.rng
        back = (self.inj or self.C + timedelta(days=28)) + timedelta(days=rng.randint(18, 30))
        enc = self.b.visit(self, self.clinician, "follow_up", back, "Review of conservative care",
                           f"Pain-free end-range plantar flexion; cleared for full {self.sport_text}.")
        when = enc.end if enc else self.b.at(back, 17)
        if self.condition is not None:
            self.condition.clinical_status = "remission"
        self.event("returned_to_sport", when, f"Back to full {self.sport_text} after conservative care.", self.clinician)
        self.rts_obs("returned_previous_level", when.date(), when)
        if s.stage == "discharged":
            d = back + timedelta(days=rng.randint(42, 70))
            enc = self.b.visit(self, self.clinician, "telephone", d, "Discharge review", "Symptom-free. Discharged.")
            when = enc.end if enc else self.b.at(d, 17)
            self._close(when)
            self.proms("6m", self.C + timedelta(days=182), severity=0.06)
            if self.C + timedelta(days=365) <= self.today:
                self.proms("12m", self.C + timedelta(days=365), severity=0.04)
        else:
            self.proms("6m", self.C + timedelta(days=182), severity=0.08)

    def _close(self, when: datetime) -> None:
        self.event("discharged", when, "Goals met; discharged with a self-managed maintenance programme. "
                   "Direct re-booking if symptoms return.", self.clinician)
        self.episode.period_end = when.date()
        if self.condition is not None:
            self.condition.clinical_status = "resolved"

    def _listing(self) -> None:
        s, rng = self.s, self.rng
        enc = self.b.visit(self, self.surgeon, "follow_up", self.L, "Surgical opinion",
                           "Persistent posterior pain despite structured rehabilitation and injection. Options "
                           "discussed; consented for posterior ankle arthroscopy (risks incl. sural nerve "
                           "numbness ~1-5%, infection <1%).")
        assert enc is not None
        self.L = enc.start.date()
        self.event("surgical_listing", enc.end, f"Failed {((self.L - self.C).days) // 7} weeks of conservative care "
                   "incl. image-guided injection; listed for " + PROCEDURES[s.procedure or "posterior_arthroscopic_excision"].lower()
                   + ".", self.surgeon)
        if s.stage == "surgical_listing":
            self.S = self.L + timedelta(days=rng.randint(24, 40))
            self.b.book(self, self.surgeon, "day_case_surgery", self.S, PROCEDURES[s.procedure or ""])
            self.b.book(self, "oneill", "nurse_dressing", self.S - timedelta(days=7), "Pre-operative assessment")
            if not self.b.cancel_done:
                self._cancelled(self.L + timedelta(days=10))

    def _cancelled(self, day: date) -> None:
        found = self.b.slot(self.physio, "physiotherapy", day, direction=1, not_before=self.today + timedelta(days=1))
        if found is None:
            return
        start, end, loc = found
        self.b.add(Appointment(
            patient_id=self.patient.id, practitioner_id=self.b.prac[self.physio].id, location_id=self.b.loc[loc].id,
            episode_id=self.episode.id, service_type="physiotherapy", status="cancelled", start=start, end=end,
            reason="Pre-habilitation session", cancelled_at=self.b.at(self.today, 9, 12),
            cancellation_reason="Cancelled by patient: away for work. Rebooking online.",
        ))
        self.b.cancel_done = True

    def _surgery(self) -> None:
        s = self.s
        weekend = self.today.weekday() >= 5  # no theatre list today: operate on the next list instead
        if s.stage == "surgery" and ((s.surgery_ago or 0) < 0 or weekend):  # operation in the next days
            found = self.b.slot(self.surgeon, "day_case_surgery", self.today + timedelta(days=1), direction=1,
                                not_before=self.today + timedelta(days=1))
            assert found is not None
            start, end, loc = found
            self.b.add(Appointment(
                patient_id=self.patient.id, practitioner_id=self.b.prac[self.surgeon].id,
                location_id=self.b.loc[loc].id, episode_id=self.episode.id, service_type="day_case_surgery",
                status="booked", start=start, end=end, reason=PROCEDURES[s.procedure or ""],
            ))
            pre = self.b.visit(self, "oneill", "nurse_dressing", self.today - timedelta(days=3),
                               "Pre-operative assessment", "Fit for day-case surgery; crutch training done.")
            self.event("surgery", pre.end if pre else self.b.at(self.today, 9),
                       f"Pre-operative assessment complete; surgery on {start.date().isoformat()}.", "oneill")
            self.b.add(Procedure(
                patient_id=self.patient.id, episode_id=self.episode.id, code=s.procedure, display=PROCEDURES[s.procedure or ""],
                cpt_code=PROCEDURE_CPT[s.procedure or ""], status="preparation", performed_at=None,
                performer_id=self.b.prac[self.surgeon].id, location_id=self.b.loc[loc].id, laterality=self.side,
                note=f"Scheduled {start.date().isoformat()}, {self.b.loc[loc].name}.",
            ))
            return
        day = self.S
        enc = None
        if day == self.today:  # first case on today's list, whatever the weekday
            start = self.b.at(day, 8, 30)
            end = start + timedelta(minutes=90)
            self.b.busy[(self.surgeon, day)].append((start, end))
            enc = self.b.add(Encounter(
                patient_id=self.patient.id, episode_id=self.episode.id, practitioner_id=self.b.prac[self.surgeon].id,
                location_id=self.b.loc["fitzrovia"].id, type="day_case_surgery", status="finished", start=start,
                end=end, reason=PROCEDURES[s.procedure or ""], note="Day case, general anaesthetic.",
            ))
            self.b.add(Appointment(
                patient_id=self.patient.id, practitioner_id=self.b.prac[self.surgeon].id,
                location_id=self.b.loc["fitzrovia"].id, episode_id=self.episode.id, service_type="day_case_surgery",
                status="arrived", start=start, end=end, reason=PROCEDURES[s.procedure or ""],
            ))
        else:
            enc = self.b.visit(self, self.surgeon, "day_case_surgery", day, PROCEDURES[s.procedure or ""],
                               "Day case, general anaesthetic; prone, thigh tourniquet.")
        assert enc is not None
        self.S = enc.start.date()
        self.event("surgery", enc.start - timedelta(hours=1), "Admitted for day-case surgery.", self.surgeon)
        open_ = s.procedure == "open_excision"
        self.b.add(Procedure(
            patient_id=self.patient.id, episode_id=self.episode.id, code=s.procedure, display=PROCEDURES[s.procedure or ""],
            cpt_code=PROCEDURE_CPT[s.procedure or ""], status="completed", performed_at=enc.start + timedelta(minutes=20),
            performer_id=self.b.prac[self.surgeon].id, location_id=enc.location_id, laterality=self.side,
            complication=s.complication,
            note=("Posterolateral approach; " if open_ else "Two posterior portals; ")
            + {"os_trigonum": "os trigonum excised, FHL sheath released.", "stieda": "Stieda process resected with burr.",
               "soft_tissue": "posterior synovitis and scarred capsule debrided, FHL free."}.get(s.variant, ""),
        ))
        self._confirm(enc.end, "arthroscopy" if s.procedure != "open_excision" else "operation")
        self.surgery_enc = enc

    def _post_op(self) -> None:
        s, rng = self.s, self.rng
        self.event("post_op", self.surgery_enc.end + timedelta(hours=3),
                   "Discharged home the same day: weight-bearing as tolerated with crutches, dressings every "
                   "other day by the nurse.", self.surgeon)
        self.recovery_plan()
        for k in range(1, 7):
            day = self.S + timedelta(days=2 * k)
            if day > self.today:
                self.b.book(self, "oneill", "nurse_dressing", day, "Dressing change" if k < 6 else "Wound check, sutures out")
                break
            note = "Wounds clean and dry; dressing changed." if k < 6 else "Wounds healed; sutures removed."
            if s.complication and "infection" in s.complication and k == 3:
                note = "Mild erythema at lateral portal; swab taken, flucloxacillin started."
            self.b.visit(self, "oneill", "nurse_dressing", day,
                         "Dressing change" if k < 6 else "Wound check, sutures out", note, direction=1)
        if self.today - self.S < timedelta(days=14):
            self.b.book(self, self.surgeon, "follow_up", self.S + timedelta(days=14), "Two-week post-operative review")
        pain = max(0, round(4 - (self.today - self.S).days / 3 + rng.uniform(-1, 1)))
        self.b.add(Observation(
            patient_id=self.patient.id, episode_id=self.episode.id, category="score", code="pain.nrs",
            value_quantity=float(pain), value_unit="/10", effective_at=self.b.at(min(self.today, self.S + timedelta(days=2)), 10),
            note="Reported at nurse dressing visit.",
        ))
        self.rts_obs("not_returned", None, self.b.at(min(self.today, self.S + timedelta(days=2)), 10))

    def _rehab(self) -> None:
        s, rng = self.s, self.rng
        start = self.S + timedelta(days=rng.randint(12, 15))
        enc = self.b.visit(self, self.surgeon, "follow_up", self.S + timedelta(days=14), "Two-week post-operative review",
                           "Wounds healed, walking without crutches. Start structured rehabilitation."
                           + (" Numbness over the lateral border of the foot (sural territory): reassured, "
                              "expected to recover." if s.complication and "sural" in s.complication else ""))
        when = enc.end if enc else self.b.at(start, 17)
        self.event("rehabilitation", when, "Crutches off, wounds healed: phase 2 rehabilitation (motion and gait).",
                   self.surgeon)
        end = min(self.today, self.rts_planned - timedelta(days=3))
        day = start + timedelta(days=2)
        k = 0
        while day <= end:
            k += 1
            phase = ("motion and gait" if (day - self.S).days < 42 else "loading and running"
                     if (day - self.S).days < 63 else "return-to-sport drills")
            self.b.visit(self, self.physio, "physiotherapy", day, f"Post-operative physiotherapy {k}",
                         f"Phase: {phase}.")
            day += timedelta(days=rng.randint(5, 8))
        if self.today - self.S >= timedelta(days=45):
            self.b.visit(self, self.surgeon, "follow_up", self.S + timedelta(days=45), "Six-week review",
                         "Full range of motion returning; cleared for sport-specific rehabilitation.")
        if s.stage == "rehabilitation":
            self.b.book(self, self.physio, "physiotherapy", self.today + timedelta(days=rng.randint(1, 5)),
                        "Post-operative physiotherapy")
            if self.today - self.S < timedelta(days=45):
                self.b.book(self, self.surgeon, "follow_up", self.S + timedelta(days=45), "Six-week review")
            else:
                self.b.book(self, self.surgeon, "follow_up", self.S + timedelta(days=91), "Three-month review")
            self.rts_obs("not_returned", None, self.b.at(self.today - timedelta(days=1), 18))

    def rts_day_planned(self) -> date:
        weeks = {"football": 6, "rugby": 8, "ballet": 10, "contemporary_dance": 9, "gymnastics": 11,
                 "cricket_fast_bowling": 10, "running": 9, "none": 6}.get(self.s.sport, 9)
        if self.patient.level == "professional":
            weeks -= 1
        if self.s.procedure == "open_excision":
            weeks += 4
        return self.S + timedelta(days=7 * weeks + self.rng.randint(-5, 8))

    def _returned(self) -> None:
        s = self.s
        day = self.rts_planned
        enc = self.b.visit(self, self.physio, "physiotherapy", day, "Return-to-sport assessment",
                           "Hop tests LSI ≥90%, full plantar flexion, no effusion after load: cleared.")
        when = enc.end if enc else self.b.at(day, 17)
        status = s.rts or "returned_previous_level"
        if self.condition is not None:
            self.condition.clinical_status = "remission"
        level = {"returned_previous_level": "at the previous level", "returned_higher_level": "at a higher level",
                 "returned_lower_level": "at a lower level for now"}[status]
        self.event("returned_to_sport", when, f"Back to {self.sport_text} {level}, "
                   f"{(when.date() - self.S).days // 7} weeks after surgery.", self.physio)
        self.rts_obs(status, when.date(), when)
        if s.stage == "returned_to_sport" and self.S + timedelta(days=182) > self.today:
            self.b.book(self, self.surgeon, "follow_up", self.S + timedelta(days=182), "Six-month review")

    def _discharged(self) -> None:
        day = self.S + timedelta(days=self.rng.randint(175, 195))
        enc = self.b.visit(self, self.surgeon, "follow_up", day, "Six-month review", "Pain-free, full function. Discharged.")
        self._close(enc.end if enc else self.b.at(day, 17))

    # ------------------------------------------------------------ plans, PROMs, RTS
    def recovery_plan(self) -> None:
        s, S, t = self.s, self.S, self.today
        plan = self.b.add(CarePlan(
            patient_id=self.patient.id, episode_id=self.episode.id, title="Recovery after " + PROCEDURES[s.procedure or ""].split(",")[0].lower(),
            kind="recovery", procedure_code=s.procedure, sport=s.sport, level=self.patient.level,
            status="completed" if s.stage in ("returned_to_sport", "discharged") else "active",
            period_start=S, period_end=S + timedelta(days=120) if s.stage in ("returned_to_sport", "discharged") else None,
            author_id=self.b.prac[self.surgeon].id,
            description="Dated by the recovery planner from the clinic's aftercare protocol; progress on "
                        "criteria, not dates alone.",
        ))
        for pos, a in enumerate(_planner_activities(s.procedure or "", s.sport, self.patient.level, S)):
            code, title, cat, e, ty, la, crit, src = a
            earliest, typical, latest = (S + timedelta(days=e), S + timedelta(days=ty), S + timedelta(days=la))
            if typical <= t and s.stage != "post_op" or latest < t:
                status, done = "completed", min(typical, t)
            elif earliest <= t:
                status, done = "in-progress", None
            else:
                status, done = "not-started", None
            self.b.add(CarePlanActivity(
                care_plan_id=plan.id, position=pos, code=code, title=title, category=cat, status=status,
                earliest=earliest, typical=typical, latest=latest, completed_on=done, criteria=crit,
                criteria_met=[status == "completed"] * len(crit), source=src,
            ))

    def post_op_proms(self) -> None:
        rng = self.rng
        trajectory = {"6w": 0.32, "3m": 0.16, "6m": 0.08, "12m": 0.05}
        if self.s.complication:
            trajectory = {k: v + 0.05 for k, v in trajectory.items()}
        for tp, days in (("6w", 42), ("3m", 91), ("6m", 182), ("12m", 365)):
            due = self.S + timedelta(days=days)
            if due > self.today - OPEN_DAYS:  # fell due within its window: not answered yet, so it shows as due
                break
            self.proms(tp, due, severity=max(0.0, trajectory[tp] + rng.uniform(-0.04, 0.04)))
            returned = self.s.stage in ("returned_to_sport", "discharged") and due >= self.rts_planned
            self.rts_questionnaire(tp, due, (self.s.rts or "returned_previous_level") if returned else "not_returned")

    def proms(self, timepoint: str, due: date, *, severity: float, when: datetime | None = None) -> None:
        if due > self.today:
            return
        rng = self.rng
        day = min(self.today, due + timedelta(days=rng.randint(0, 4)))
        authored = when or self.b.at(day, rng.randint(7, 21) if day < self.today else 6, rng.choice([5, 20, 35, 50]))
        sport_extra = 0.15 if severity > 0.2 else 0.05

        def item(sev: float) -> int:
            return max(0, min(4, round(4 * sev + rng.gauss(0, 0.55))))

        faos: dict[str, Any] = {}
        for sub, ids in FAOS_ITEMS.items():
            sev = severity + (sport_extra if sub in ("sport_rec", "qol") else 0.0) - (0.1 if sub == "adl" else 0.0)
            for i in ids:
                faos[i] = item(max(0.0, sev))
        faam: dict[str, Any] = {}
        for sub, ids in FAAM_ITEMS.items():
            sev = severity + (sport_extra if sub == "sports" else -0.1)
            for i in ids:
                faam[i] = 4 - item(max(0.0, sev))
        faam["ADL_GLOBAL"] = max(0, min(100, round(100 - 100 * severity * 0.9 + rng.uniform(-5, 5))))
        faam["SPORTS_GLOBAL"] = max(0, min(100, round(100 - 100 * (severity + sport_extra) + rng.uniform(-5, 5))))
        pain = {"PAIN": max(0, min(10, round(10 * severity * 0.95 + rng.gauss(0, 0.6))))}
        obs_codes = {"faos": {k: f"faos.{k}" for k in FAOS_ITEMS}, "faam": {"adl": "faam.adl", "sports": "faam.sports"},
                     "pain": {"pain": "pain.nrs"}}
        for code, answers in (("faos", faos), ("faam", faam), ("pain", pain)):
            scores = _score(code, answers)
            qr = self.b.add(QuestionnaireResponse(
                questionnaire_id=self.b.questionnaires[code].id, patient_id=self.patient.id,
                episode_id=self.episode.id, timepoint=timepoint, due_on=due, status="completed",
                authored_at=authored, answers=answers, scores=scores,
            ))
            for key, value in scores.items():
                self.b.add(Observation(
                    patient_id=self.patient.id, episode_id=self.episode.id, questionnaire_response_id=qr.id,
                    category="score", code=obs_codes[code][key], value_quantity=round(value, 1),
                    value_unit="/10" if code == "pain" else "score", effective_at=authored,
                ))

    def rts_questionnaire(self, timepoint: str, due: date, status: str) -> None:
        authored = self.b.at(min(self.today, due + timedelta(days=1)), 19)
        answers: dict[str, Any] = {"RTS_STATUS": status}
        if status != "not_returned":
            answers["RTS_DATE"] = self.rts_planned.isoformat()
        self.b.add(QuestionnaireResponse(
            questionnaire_id=self.b.questionnaires["rts"].id, patient_id=self.patient.id, episode_id=self.episode.id,
            timepoint=timepoint, due_on=due, status="completed", authored_at=authored, answers=answers, scores={},
        ))

    def rts_obs(self, status: str, day: date | None, when: datetime) -> None:
        self.rts_day = day
        self.b.add(Observation(
            patient_id=self.patient.id, episode_id=self.episode.id, category="measurement", code="rts.status",
            value_string=status, effective_at=when, note=f"Return to {self.sport_text}",
        ))
        if day is not None:
            self.b.add(Observation(
                patient_id=self.patient.id, episode_id=self.episode.id, category="measurement", code="rts.date",
                value_string=day.isoformat(), effective_at=when,
            ))


def _finding_groups() -> dict[str, str]:
    from hindfoot.patients.codes import vocabulary

    return {f["id"]: group for group, items in vocabulary()["findings"].items() for f in items}


def _planner_activities(procedure: str, sport: str, level: str, surgery: date) -> list[tuple[Any, ...]]:
    """Milestones from the recovery planner, as day offsets from surgery."""
    plan = build_plan(procedure, surgery, sport, level)
    return [(m.id, m.title, m.category, m.earliest_day, m.typical_day, m.latest_day, list(m.criteria), m.source)
            for m in plan.milestones]
