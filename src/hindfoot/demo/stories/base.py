"""The base of a patient's story: identity, key dates, pathway events and observations."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from hindfoot.db.models import (
    Condition,
    DiagnosticReport,
    Encounter,
    EpisodeOfCare,
    Observation,
    PathwayEvent,
    Patient,
    UserAccount,
)
from hindfoot.demo import cast
from hindfoot.demo.cast import DEMO_EMAIL_DOMAIN
from hindfoot.demo.patients import SPORT_LABEL, SURGICAL_STAGES, Spec

if TYPE_CHECKING:
    from hindfoot.demo.clinic import ClinicBuilder


class StoryBase:
    """One patient's story: who they are, their key dates, and the rows every stage writes."""

    # Set by _identity, _dates and PatientStory.build, then read by every stage.
    patient: Patient
    account: UserAccount
    side: str
    ankle: str
    sport_text: str
    S: date
    L: date
    C: date
    MRI: date | None
    A: date
    E: date
    inj: date
    rts_day: date | None
    discharge: date
    rts_planned: date
    clinician: str
    surgeon: str
    physio: str
    episode: EpisodeOfCare
    stage: str | None
    condition: Condition | None
    assessment_enc: Encounter
    surgery_enc: Encounter
    _findings: tuple[set[str], set[str]]

    def __init__(self, b: ClinicBuilder, spec: Spec, n: int) -> None:
        self.b, self.s, self.n = b, spec, n
        self.rng = b.rng
        self.today = b.today

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

    def rts_day_planned(self) -> date:
        weeks = {"football": 6, "rugby": 8, "ballet": 10, "contemporary_dance": 9, "gymnastics": 11,
                 "cricket_fast_bowling": 10, "running": 9, "none": 6}.get(self.s.sport, 9)
        if self.patient.level == "professional":
            weeks -= 1
        if self.s.procedure == "open_excision":
            weeks += 4
        return self.S + timedelta(days=7 * weeks + self.rng.randint(-5, 8))

    def rts_day_estimate(self) -> date:
        return self.C + timedelta(days=70)

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

    def _confirm(self, when: datetime, how: str = "imaging and review") -> None:
        if self.condition is not None and self.condition.verification_status != "confirmed":
            self.condition.verification_status = "confirmed"
            self.condition.note += f" Confirmed on {how} ({when.date().isoformat()})."
        elif self.condition is not None:
            self.condition.note += f" Findings confirmed at {how} ({when.date().isoformat()})."

    def _close(self, when: datetime) -> None:
        self.event("discharged", when, "Goals met; discharged with a self-managed maintenance programme. "
                   "Direct re-booking if symptoms return.", self.clinician)
        self.episode.period_end = when.date()
        if self.condition is not None:
            self.condition.clinical_status = "resolved"
