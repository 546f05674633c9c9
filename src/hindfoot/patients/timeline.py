"""Merge a patient's record into one dated timeline, newest first (pure: record in, entries out)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING

from hindfoot.pathway.machine import STAGE_LABELS
from hindfoot.patients.codes import FINDING_CATEGORIES, WITHDRAWN, condition_names, finding_texts

if TYPE_CHECKING:
    from hindfoot.db.models import Observation
    from hindfoot.patients.service import PatientRecord


@dataclass(frozen=True)
class TimelineEntry:
    when: datetime
    kind: str  # encounter | finding | imaging | condition | procedure | plan | questionnaire | pathway
    title: str
    detail: str = ""


def _at(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, time(12, 0), tzinfo=UTC)


SUBSCALE_WORDS = {
    "symptoms": "symptoms", "pain": "pain", "adl": "daily living", "sport_rec": "sport and recreation",
    "qol": "quality of life", "sports": "sports", "nrs": "pain (0-10)",
}
TIMEPOINT_WORDS = {"baseline": "before treatment", "6w": "6 weeks", "3m": "3 months", "6m": "6 months",
                   "12m": "12 months"}
TRIAGE_WORDS = {
    "emergency": "Emergency: advised to go to an emergency department",
    "urgent": "Triaged urgent: to be seen within 24-48 hours",
    "routine": "Routine: a specialist consultation",
    "self_care": "Self-care first",
}


# The clinician's documentation the pathway reads (pathway/service.py), in words: (when true, when false)
DOCUMENTATION_WORDS = {
    "surgical_consent": ("Consent for surgery recorded", "Consent for surgery withdrawn"),
    "conservative_care_failed": ("Treatment without surgery has not helped enough",
                                 "Treatment without surgery is helping"),
    "durable_relief": ("Lasting relief", "No lasting relief"),
}


def build_timeline(record: PatientRecord) -> list[TimelineEntry]:
    texts = finding_texts()
    names = condition_names()
    entries: list[TimelineEntry] = []
    for e in record.encounters:
        who = e.practitioner.display_name if e.practitioner else ""
        where = e.location.name if e.location else ""
        entries.append(TimelineEntry(e.start, "encounter", e.type_label,
                                     " · ".join(p for p in (who, where, e.reason) if p)))
    by_day: dict[tuple[date, str], list[str]] = {}
    for o in record.observations:
        if o.category == "score":
            continue
        if o.category == "triage":  # the provisional triage of a symptom check shared when booking
            entries.append(TimelineEntry(o.effective_at, "finding", "Provisional triage (symptom check)",
                                         TRIAGE_WORDS.get(o.value_string or "", o.value_string or "")))
            continue
        label = texts.get(o.code, o.code)
        if o.code in DOCUMENTATION_WORDS and o.value_boolean is not None:
            label = DOCUMENTATION_WORDS[o.code][0 if o.value_boolean else 1]
        elif o.value_boolean is not None:
            label = ("" if o.value_boolean else "No: ") + label
        elif o.value_quantity is not None:
            label = f"{label}: {o.value_quantity:g} {o.value_unit or ''}".strip()
        if o.status == WITHDRAWN:
            label += " (withdrawn)"
        by_day.setdefault((o.effective_at.date(), o.category), []).append(label)
    for (day, category), labels in by_day.items():
        entries.append(TimelineEntry(_at(day), "finding", f"{category.capitalize()} findings", "; ".join(labels)))
    for s in record.imaging:
        entries.append(TimelineEntry(s.started_at, "imaging", s.modality_label, s.description))
    for r in record.reports:
        entries.append(TimelineEntry(r.issued_at, "imaging", "Report", r.conclusion))
    for c in record.conditions:
        entries.append(TimelineEntry(c.recorded_at, "condition", names.get(c.code, c.display),
                                     f"{c.verification_status}, {c.laterality or ''}".strip(", ")))
    for p in record.procedures:
        if p.performed_at:
            detail = p.display + (f" · complication: {p.complication}" if p.complication else "")
            entries.append(TimelineEntry(p.performed_at, "procedure", "Procedure", detail))
    for cp in record.care_plans:
        entries.append(TimelineEntry(_at(cp.period_start), "plan", cp.title, f"{len(cp.activities)} steps, {cp.status}"))
    for qr in record.responses:
        scores = ", ".join(f"{SUBSCALE_WORDS.get(k, k.replace('_', ' '))} {v:.0f}"
                           for k, v in qr.scores.items() if isinstance(v, (int, float)))
        entries.append(TimelineEntry(qr.authored_at, "questionnaire",
                                     f"{qr.questionnaire.title} ({TIMEPOINT_WORDS.get(qr.timepoint, qr.timepoint)})",
                                     scores))
    for ev in record.pathway_events:
        entries.append(TimelineEntry(ev.recorded_at, "pathway",
                                     f"Stage: {STAGE_LABELS.get(ev.to_stage, ev.to_stage)}", ev.reason))
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries


def current_findings(record: PatientRecord) -> list[Observation]:
    """The findings as they stand: per episode and finding, the latest recorded yes/no answer, newest
    first. A finding whose latest record was withdrawn (set back to "not known") is left out, and so
    are the answers a later one replaced; the timeline keeps them all."""
    latest: dict[tuple[object, str], Observation] = {}
    for o in sorted(record.observations, key=lambda o: (o.effective_at, o.created_at)):
        if o.category in FINDING_CATEGORIES:
            latest[(o.episode_id, o.code)] = o
    current = [o for o in latest.values() if o.status != WITHDRAWN and o.value_boolean is not None]
    return sorted(current, key=lambda o: o.effective_at, reverse=True)


def score_series(record: PatientRecord) -> dict[str, list[tuple[date, float]]]:
    """Questionnaire scores over time, per score code (e.g. faos.pain), oldest first."""
    series: dict[str, list[tuple[date, float]]] = {}
    for o in sorted(record.observations, key=lambda o: o.effective_at):
        if o.category == "score" and o.value_quantity is not None:
            series.setdefault(o.code, []).append((o.effective_at.date(), o.value_quantity))
    return series
