"""After treatment: the recovery plan, questionnaires (PROMs) at their time points, and return to
sport.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from hindfoot.db.models import CarePlan, CarePlanActivity, Observation, QuestionnaireResponse
from hindfoot.db.models.procedure import PROCEDURES
from hindfoot.demo.patients import OPEN_DAYS
from hindfoot.demo.stories.base import StoryBase
from hindfoot.outcomes.scoring import score
from hindfoot.recovery.planner import build_plan

FAOS_ITEMS = {
    "symptoms": [f"S{i}" for i in range(1, 8)], "pain": [f"P{i}" for i in range(1, 10)],
    "adl": [f"A{i}" for i in range(1, 18)], "sport_rec": [f"SP{i}" for i in range(1, 6)],
    "qol": [f"Q{i}" for i in range(1, 5)],
}
FAAM_ITEMS = {"adl": [f"ADL{i}" for i in range(1, 22)], "sports": [f"SPORTS{i}" for i in range(1, 9)]}


def _score(code: str, answers: dict[str, Any]) -> dict[str, float]:
    result = score(code, answers)
    return {k: v for k, v in result["scores"].items() if v is not None}

def _planner_activities(procedure: str, sport: str, level: str, surgery: date) -> list[tuple[Any, ...]]:
    """Milestones from the recovery planner, as day offsets from surgery."""
    plan = build_plan(procedure, surgery, sport, level)
    return [(m.id, m.title, m.category, m.earliest_day, m.typical_day, m.latest_day, list(m.criteria), m.source)
            for m in plan.milestones]


class FollowUp(StoryBase):
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
            if (typical <= t and s.stage != "post_op") or latest < t:
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
