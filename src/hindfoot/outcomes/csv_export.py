"""The registry's de-identified CSV export: one row per episode, rare combinations generalised.

No names, emails, identifiers or dates of birth; quasi-identifiers are generalised until each
combination is shared by at least `min_group` rows (`outcomes.disclosure`), rows that stay unique
are left out, and the HTTP headers say what disclosure control did.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from typing import Final

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import require_registry
from hindfoot.db.models import EpisodeOfCare, Observation, Patient, Procedure, QuestionnaireResponse
from hindfoot.db.models.registry import RETURNED_PREVIOUS
from hindfoot.outcomes import disclosure
from hindfoot.outcomes.cohort import (
    Filters,
    anchor_subqueries,
    cohort_query,
    days_between,
    restricted_patients,
)
from hindfoot.outcomes.vocabulary import SCORE_LABELS, SURGICAL_PROCEDURES

EXPORT_TIMEPOINTS: Final = ("baseline", "6w", "3m", "6m", "12m")


def _age_band(birth: date, on: date) -> str:
    age = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    if age < 16:
        return "under 16"
    if age >= 70:
        return "70+"
    low = 16 if age < 20 else age // 10 * 10
    return f"{low}-{low + 9 if low >= 20 else 19}"


@dataclass(frozen=True)
class CsvExport:
    text: str
    rows: int  # rows written
    suppressed: int  # quasi-identifier values replaced by "*"
    withheld: int  # rows left out: still unique after suppression
    min_group: int  # k: every combination of the quasi-identifiers is shared by at least this many rows

    def headers(self) -> dict[str, str]:
        """The HTTP headers of the download: file name, and what disclosure control did."""
        return {
            "Content-Disposition": 'attachment; filename="hindfoot-outcomes-deidentified.csv"',
            "X-Min-Group-Size": str(self.min_group),
            "X-Values-Generalised": str(self.suppressed),
            "X-Rows-Withheld": str(self.withheld),
        }


def export_csv(db: Session, actor: Actor, f: Filters, *, min_group: int = 5) -> CsvExport:
    """One row per episode, no names, emails, identifiers or dates of birth: age band, sport, level,
    procedure, complication (yes/no), the year the episode began, each score at each time point,
    return-to-sport status and days to return. Rows are in no meaningful order. Rare combinations of
    age band, sex, sport, level, side and year are generalised ("*") until each is shared by at least
    `min_group` rows (`outcomes.disclosure`); rows that stay unique are left out."""
    require_registry(actor)
    cohort = cohort_query(actor, f, restricted_patients(db, actor), with_patient=True).add_columns(
        Patient.birth_date, Patient.sex, Patient.sport, Patient.level, EpisodeOfCare.laterality
    ).cte("cohort")
    surgery, conservative = anchor_subqueries()
    anchor = func.coalesce(surgery.c.at, conservative.c.at)
    score_cols = [(code, tp) for code in SCORE_LABELS for tp in EXPORT_TIMEPOINTS]
    scores = (
        select(Observation.episode_id,
               *(func.avg(case((and_(Observation.code == code, QuestionnaireResponse.timepoint == tp),
                                Observation.value_quantity))).label(f"{code}@{tp}") for code, tp in score_cols))
        .join(QuestionnaireResponse, QuestionnaireResponse.id == Observation.questionnaire_response_id)
        .join(cohort, cohort.c.episode_id == Observation.episode_id)
        .where(Observation.code.in_(list(SCORE_LABELS)))
        .group_by(Observation.episode_id).subquery("scores")
    )
    rts = (
        select(Observation.episode_id,
               func.min(case((Observation.code == "rts.date", Observation.value_string))).label("returned_on"),
               func.max(case((Observation.value_string.in_(RETURNED_PREVIOUS), 1), else_=0)).label("previous"),
               func.max(case((Observation.value_string == "returned_lower_level", 1), else_=0)).label("lower"))
        .join(cohort, cohort.c.episode_id == Observation.episode_id)
        .where(Observation.code.in_(("rts.status", "rts.date")))
        .group_by(Observation.episode_id).subquery("rts")
    )
    procedure = (
        select(Procedure.episode_id, func.max(Procedure.code).label("code"),
               func.max(case((Procedure.complication.is_not(None), 1), else_=0)).label("complication"))
        .join(cohort, cohort.c.episode_id == Procedure.episode_id)
        .where(Procedure.status == "completed", Procedure.code.in_(SURGICAL_PROCEDURES))
        .group_by(Procedure.episode_id).subquery("proc")
    )
    stmt = (
        select(cohort.c.birth_date, cohort.c.period_start, cohort.c.sex, cohort.c.sport, cohort.c.level,
               cohort.c.laterality, procedure.c.code, procedure.c.complication,
               rts.c.episode_id, rts.c.returned_on, rts.c.previous, rts.c.lower,
               days_between(anchor, rts.c.returned_on),
               *(getattr(scores.c, f"{code}@{tp}") for code, tp in score_cols))
        .select_from(cohort)
        .outerjoin(surgery, surgery.c.episode_id == cohort.c.episode_id)
        .outerjoin(conservative, conservative.c.episode_id == cohort.c.episode_id)
        .outerjoin(scores, scores.c.episode_id == cohort.c.episode_id)
        .outerjoin(rts, rts.c.episode_id == cohort.c.episode_id)
        .outerjoin(procedure, procedure.c.episode_id == cohort.c.episode_id)
        .order_by(cohort.c.episode_id)
    )
    columns = ["age_band", "sex", "sport", "level", "side", "episode_year", "procedure", "complication",
               "rts_status", "days_to_return", *(f"{code}_{tp}" for code, tp in score_cols)]
    rows: list[dict[str, str]] = []
    for r in db.execute(stmt):
        birth, start, sex, sport, level, side, proc, comp, answered, returned, previous, lower, days, *vals = r
        status = ("" if answered is None else "returned_previous_or_higher" if previous
                  else "returned_lower_level" if lower else "returned" if returned else "not_returned")
        values = [_age_band(birth, start), sex or "", sport or "", level or "", side or "", str(start.year), proc or "",
                  "" if proc is None else ("yes" if comp else "no"), status, "" if days is None else str(days),
                  *("" if v is None else f"{float(v):.1f}" for v in vals)]
        rows.append(dict(zip(columns, values, strict=True)))
    safe = disclosure.protect(rows, min_group)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["row", *columns])
    for n, row in enumerate(safe.rows, start=1):
        writer.writerow([n, *(row[c] for c in columns)])
    audit.record(db, actor, audit.READ, "Registry", description=(
        f"de-identified CSV export, {len(safe.rows)} rows, {safe.suppressed} values generalised and "
        f"{safe.withheld} rows withheld for groups of at least {min_group} ({f.describe()})"))
    return CsvExport(text=buf.getvalue(), rows=len(safe.rows), suppressed=safe.suppressed, withheld=safe.withheld,
                     min_group=min_group)
