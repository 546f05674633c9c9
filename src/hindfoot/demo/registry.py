"""A registry-sized synthetic cohort for the outcomes dashboard: `hindfoot demo --patients N`.

Patients join the demo organisation (so the dashboard shows them) with an episode, a surgery or a
conservative course, and questionnaires at the time points already due, completed less often as
follow-up lengthens. Every stored score is the exact score of the stored answers (answer sets are
built and scored once per severity level, then reused). Deterministic for a given seed and
`today`. Inserts go through SQLAlchemy Core `insert()` executemany, one transaction per batch.
No names, emails or phone numbers: registry patients cannot sign in and get no reminders.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, select

from hindfoot.db.models import (
    EpisodeOfCare,
    Observation,
    Organization,
    PathwayEvent,
    Patient,
    Practitioner,
    Procedure,
    Questionnaire,
    QuestionnaireResponse,
)
from hindfoot.db.models.procedure import PROCEDURES
from hindfoot.outcomes import scoring
from hindfoot.outcomes.due import add_months

__all__ = ["RegistryResult", "add_registry_patients"]

SPORTS = (("ballet", 22), ("contemporary_dance", 8), ("football", 25), ("rugby", 8), ("cricket_fast_bowling", 5),
          ("gymnastics", 6), ("running", 12), ("basketball", 5), ("tennis", 5), ("other_sport", 4))
SURGERIES = (("posterior_arthroscopic_excision", 70), ("posterior_arthroscopic_debridement", 20), ("open_excision", 10))
COMPLICATIONS = ("sural nerve numbness", "superficial portal infection", "FHL tendon irritation",
                 "delayed wound healing")
FOLLOW_UPS = (("6w", "w", 6, 0.32, 0.85), ("3m", "m", 3, 0.16, 0.75), ("6m", "m", 6, 0.08, 0.65),
              ("12m", "m", 12, 0.05, 0.55))
SCORE_CODE = {("faos", k): f"faos.{k}" for k in scoring.FAOS_SUBSCALES} | {
    ("faam", "adl"): "faam.adl", ("faam", "sports"): "faam.sports", ("pain", "pain"): "pain.nrs"}
LEVELS = 21  # severity buckets 0.00, 0.05, ... 1.00


@dataclass
class RegistryResult:
    patients: int
    rows: int
    seconds: float


def _answer_sets(rng: random.Random) -> dict[str, list[list[tuple[dict[str, Any], dict[str, float]]]]]:
    """Per instrument and severity bucket, three (answers, exact scores) variants."""
    out: dict[str, list[list[tuple[dict[str, Any], dict[str, float]]]]] = {"faos": [], "faam": [], "pain": []}
    for level in range(LEVELS):
        sev = level / (LEVELS - 1)
        for code in out:
            variants = []
            for _ in range(3):
                def item(s: float) -> int:
                    return max(0, min(4, round(4 * s + rng.gauss(0, 0.5))))
                if code == "faos":
                    answers: dict[str, Any] = {i: item(sev) for ids in scoring.FAOS_SUBSCALES.values() for i in ids}
                elif code == "faam":
                    answers = {i: 4 - item(sev) for ids in scoring.FAAM_SUBSCALES.values() for i in ids}
                    if rng.random() < 0.3:
                        answers["SPORTS8"] = "na"
                else:
                    answers = {"PAIN": max(0, min(10, round(10 * sev + rng.gauss(0, 0.6))))}
                scores = {k: v for k, v in scoring.score(code, answers)["scores"].items() if v is not None}
                variants.append((answers, scores))
            out[code].append(variants)
    return out


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([w[0] for w in weighted], weights=[w[1] for w in weighted])[0]


def add_registry_patients(
    engine: Engine, n: int, *, today: date, seed: int = 20260101, batch: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> RegistryResult:
    """Add `n` registry patients to the demo organisation (which must exist)."""
    import time as clock

    started = clock.perf_counter()
    rng = random.Random(seed)
    with engine.connect() as conn:
        org_id = conn.scalar(select(Organization.id).where(Organization.is_demo).limit(1))
        if org_id is None:
            raise RuntimeError("load the demo clinic first (hindfoot demo)")
        surgeons = list(conn.scalars(select(Practitioner.id).where(
            Practitioner.organization_id == org_id, Practitioner.role == "surgeon").order_by(Practitioner.id)))
        offset = conn.scalar(select(func.count()).select_from(Patient).where(
            Patient.organization_id == org_id, Patient.identifier.like("RG-%"))) or 0
        q_ids = dict(conn.execute(select(Questionnaire.code, Questionnaire.id)  # newest version wins
                                   .order_by(Questionnaire.created_at)).all())
    if not surgeons:
        raise RuntimeError("the demo clinic has no surgeon")
    missing = {"faos", "faam", "pain", "rts"} - set(q_ids)
    if missing:
        raise RuntimeError(f"questionnaires {sorted(missing)} are not stored; load the demo clinic first")
    sets = _answer_sets(rng)
    rng = random.Random(seed + offset)  # a second run adds different patients
    total_rows = 0
    now = datetime.now(UTC)

    def uid() -> uuid.UUID:
        return uuid.UUID(int=rng.getrandbits(128), version=4)

    def at(day: date, hour: int) -> datetime:
        return datetime.combine(day, time(hour, rng.choice((0, 15, 30, 45))), tzinfo=UTC)

    done = 0
    while done < n:
        size = min(batch, n - done)
        rows: dict[str, list[dict[str, Any]]] = {k: [] for k in
                                                 ("patient", "episode", "procedure", "event", "response", "obs")}
        for k in range(size):
            number = offset + done + k + 1
            pid, eid = uid(), uid()
            start = today - timedelta(days=rng.randint(0, 3 * 365))
            birth = start - timedelta(days=rng.randint(16 * 365, 55 * 365))
            sport = _pick(rng, SPORTS)
            rows["patient"].append(dict(
                id=pid, organization_id=org_id, identifier=f"RG-{number:07d}", given_name="Registry",
                family_name=f"Patient {number}", birth_date=birth, sex=rng.choice(("female", "male")), email=None,
                phone=None, sport=sport, level=rng.choice(("recreational", "competitive", "professional")),
                active=True, created_at=now, updated_at=now))
            surgical = rng.random() < 0.7
            anchor = start + timedelta(days=rng.randint(30, 150) if surgical else 7)
            if anchor > today:
                surgical, anchor = False, start + timedelta(days=7)
            stage = "discharged" if (today - start).days > 400 else ("rehabilitation" if surgical else "conservative_care")
            rows["episode"].append(dict(
                id=eid, patient_id=pid, organization_id=org_id, title="Posterior ankle impingement",
                condition_code="posterior_ankle_impingement", laterality=rng.choice(("left", "right")),
                status="finished" if stage == "discharged" else "active", stage=stage, period_start=start,
                period_end=None, care_manager_id=None, created_at=now, updated_at=now))
            complicated = False
            if surgical:
                code = _pick(rng, SURGERIES)
                complicated = rng.random() < 0.05
                rows["procedure"].append(dict(
                    id=uid(), patient_id=pid, episode_id=eid, code=code, display=PROCEDURES[code], snomed_code=None,
                    cpt_code=None, status="completed", performed_at=at(anchor, 9), performer_id=rng.choice(surgeons),
                    location_id=None, laterality=None, complication=rng.choice(COMPLICATIONS) if complicated else None,
                    note="", created_at=now, updated_at=now))
            elif anchor <= today:
                rows["event"].append(dict(id=uid(), episode_id=eid, from_stage="assessment",
                                          to_stage="conservative_care", reason="conservative care started",
                                          recorded_at=at(anchor, 10), recorded_by_id=None))
            base_sev = rng.uniform(0.35, 0.75)
            respond = rng.random()
            rts_days = int(rng.gauss(75 if surgical else 60, 20)) + (30 if complicated else 0)
            level_back = _pick(rng, (("returned_previous_level", 70), ("returned_higher_level", 10),
                                     ("returned_lower_level", 20)))
            never_back = rng.random() < 0.12
            points = [("baseline", start, base_sev, 0.95)]
            for tp, unit, amount, sev, rate in FOLLOW_UPS:
                due = anchor + timedelta(weeks=amount) if unit == "w" else add_months(anchor, amount)
                points.append((tp, due, base_sev * sev / 0.5 + rng.uniform(-0.05, 0.05), rate))
            for tp, due, sev, rate in points:
                if due > today or respond > rate:
                    continue
                when = at(min(today, due + timedelta(days=rng.randint(0, 6))), rng.randint(7, 21))
                level = max(0, min(LEVELS - 1, round(sev * (LEVELS - 1))))
                for code in ("faos", "faam", "pain"):
                    answers, scores = rng.choice(sets[code][level])
                    rid = uid()
                    rows["response"].append(dict(
                        id=rid, questionnaire_id=q_ids[code], patient_id=pid, episode_id=eid, timepoint=tp,
                        due_on=due, status="completed", authored_at=when, answers=answers, scores=scores,
                        created_at=now, updated_at=now))
                    for sub, value in scores.items():
                        rows["obs"].append(_obs(uid(), pid, eid, rid, SCORE_CODE[(code, sub)], when, now,
                                                value_quantity=value, value_unit="/10" if code == "pain" else "score"))
                if tp == "baseline":
                    continue
                returned = not never_back and (due - anchor).days >= rts_days
                answers = {"RTS_STATUS": level_back if returned else "not_returned"}
                if returned:
                    answers["RTS_DATE"] = (anchor + timedelta(days=max(0, rts_days))).isoformat()
                rid = uid()
                rows["response"].append(dict(
                    id=rid, questionnaire_id=q_ids["rts"], patient_id=pid, episode_id=eid, timepoint=tp, due_on=due,
                    status="completed", authored_at=when, answers=answers, scores={}, created_at=now, updated_at=now))
                rows["obs"].append(_obs(uid(), pid, eid, rid, "rts.status", when, now,
                                        value_string=answers["RTS_STATUS"]))
                if returned:
                    rows["obs"].append(_obs(uid(), pid, eid, rid, "rts.date", when, now,
                                            value_string=answers["RTS_DATE"]))
        with engine.begin() as conn:
            for key, table in (("patient", Patient), ("episode", EpisodeOfCare), ("procedure", Procedure),
                               ("event", PathwayEvent), ("response", QuestionnaireResponse), ("obs", Observation)):
                if rows[key]:
                    conn.execute(insert(table), rows[key])
                    total_rows += len(rows[key])
        done += size
        if progress:
            progress(size)
    return RegistryResult(n, total_rows, clock.perf_counter() - started)


def _obs(oid: uuid.UUID, pid: uuid.UUID, eid: uuid.UUID, rid: uuid.UUID, code: str, when: datetime, now: datetime,
         **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict(
        id=oid, patient_id=pid, episode_id=eid, encounter_id=None, diagnostic_report_id=None,
        questionnaire_response_id=rid, category="score", code=code, status="final", value_boolean=None,
        value_quantity=None, value_unit=None, value_string=None, effective_at=when, performer_id=None, note="",
        created_at=now, updated_at=now)
    row.update(values)
    return row

