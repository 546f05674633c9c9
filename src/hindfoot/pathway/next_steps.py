"""What comes next for an episode of PAI care, and why: a small rule engine over data.

The rules live in `knowledge/data/next_steps.yaml` so clinicians can review and tune them
without reading Python; this module only knows how to evaluate a fixed vocabulary of
conditions (validated at load, unknown keys rejected) against an `EpisodeFacts` snapshot.
Pure: `today` is part of the snapshot, so the same snapshot always gives the same advice.

Escalation to a surgical opinion (evidence.md 5.1, an expert estimate, not a consensus) is
computed here from the YAML thresholds, because it combines several facts:

* lasting relief from conservative care means no escalation, unless symptoms came back after
  an injection that had worked;
* a professional athlete or dancer with a bony lesion: from ~6 weeks, injection or not;
* anyone with structured rehabilitation plus at least one image-guided injection: from the
  lower edge of the 6-12 week window (6 weeks). A recreational patient at 10 weeks with a
  failed injection therefore qualifies: the evidence gives a window, not a single figure, and
  a *discussion* is cheap while more months of pain are not;
* without an injection: 3 months, the figure reported for non-athletes [NONATH].
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from hindfoot.pathway.machine import Stage

__all__ = [
    "EpisodeFacts",
    "Escalation",
    "Imaging",
    "Level",
    "Recommendation",
    "RuleSet",
    "TreatmentRecord",
    "conservative_weeks",
    "escalation",
    "load_rules",
    "recommend",
]

Imaging = Literal["xray", "mri", "ct", "bone_scan", "injection"]
Level = Literal["recreational", "competitive", "professional"]

_PLACEHOLDERS = frozenset(
    {
        "weeks",
        "threshold_weeks",
        "escalation_basis",
        "next_review",
        "review_interval_weeks",
        "sport_technique",
        "level",
    }
)


# --------------------------------------------------------------------------- facts


class TreatmentRecord(BaseModel):
    """A treatment started in this episode (ids listed under `treatments` in the rules file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    started: date


class EpisodeFacts(BaseModel):
    """Everything the rules may look at, flattened from the record by the service layer.

    Defaults mean "not done / not known", which can only make the engine suggest more, never
    skip a step.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    today: date
    stage: Stage = Stage.ASSESSMENT
    present: frozenset[str] = Field(default_factory=frozenset, description="Finding ids present.")
    absent: frozenset[str] = Field(default_factory=frozenset, description="Finding ids absent.")
    imaging_done: frozenset[Imaging] = Field(default_factory=frozenset)
    treatments: tuple[TreatmentRecord, ...] = ()
    conservative_weeks: float | None = Field(
        None,
        ge=0,
        description="Weeks of conservative care; derived from treatment dates when None.",
    )
    injections: int = Field(0, ge=0, description="Image-guided posterior injections given.")
    level: Level = "recreational"
    sport: str | None = None
    bony_lesion: bool | None = Field(None, description="Derived from imaging findings when None.")
    confirmed_diagnosis: bool = False
    durable_relief: bool = False
    recurrence_after_injection: bool = False
    severe_pain: bool = False
    consent_recorded: bool = False
    mri_unavailable: bool = False
    prp_requested: bool = False
    last_review: date | None = None


class Recommendation(BaseModel):
    """One "what next and why", ready to show to a clinician or patient."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    explanation: str
    sources: tuple[str, ...]
    category: str
    priority: int
    due: date | None = None


class Escalation(BaseModel):
    """Whether conservative care has failed long enough to discuss surgery, and on what basis."""

    model_config = ConfigDict(frozen=True)

    due: bool
    basis: str
    weeks: float
    threshold_weeks: float


# --------------------------------------------------------------------------- rule data


class Conditions(BaseModel):
    """The closed condition vocabulary of a rule; all given conditions must hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stage_in: tuple[Stage, ...] | None = None
    imaging_done_all: tuple[Imaging, ...] | None = None
    imaging_missing_all: tuple[Imaging, ...] | None = None
    confirmed_diagnosis: bool | None = None
    findings_present_any: tuple[str, ...] | None = None
    treatments_started_any: tuple[str, ...] | None = None
    treatments_missing_all: tuple[str, ...] | None = None
    conservative_started: bool | None = None
    conservative_weeks_min: float | None = None
    conservative_weeks_below: float | None = None
    injections_min: int | None = None
    level_in: tuple[Level, ...] | None = None
    bony_lesion: bool | None = None
    severe_pain: bool | None = None
    durable_relief: bool | None = None
    escalation_due: bool | None = None
    consent_recorded: bool | None = None
    mri_unavailable: bool | None = None
    prp_mentioned: bool | None = None


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    priority: int
    category: Literal[
        "safety", "imaging", "treatment", "caution", "escalation", "review", "surgery", "aftercare"
    ]
    title: str
    explanation: str
    sources: tuple[str, ...] = Field(min_length=1)
    when: Conditions
    exclusive: str | None = None
    due: Literal["next_review"] | None = None

    @model_validator(mode="after")
    def _templates_known(self) -> Rule:
        for text in (self.title, self.explanation):
            names = {f for _, f, _, _ in string.Formatter().parse(text) if f}
            unknown = names - _PLACEHOLDERS
            if unknown:
                raise ValueError(f"rule {self.id}: unknown placeholder(s) {sorted(unknown)}")
        return self


class TreatmentIds(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    first_line: tuple[str, ...]
    other: tuple[str, ...] = ()


class EscalationThresholds(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    with_injection_min_weeks: float
    professional_bony_lesion_weeks: float
    without_injection_weeks: float
    recurrence_after_injection: bool = True


class RuleSet(BaseModel):
    """The whole rules file, validated: a typo in a condition key fails at load, not silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    treatments: TreatmentIds
    bony_lesion_findings: tuple[str, ...]
    escalation: EscalationThresholds
    review_interval_weeks: dict[Level, float]
    sport_technique: dict[str, str]
    rules: tuple[Rule, ...]

    @model_validator(mode="after")
    def _consistent(self) -> RuleSet:
        ids = [r.id for r in self.rules]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise ValueError(f"duplicate rule ids: {sorted(dupes)}")
        known = set(self.treatments.first_line) | set(self.treatments.other)
        for rule in self.rules:
            for key in ("treatments_started_any", "treatments_missing_all"):
                used = getattr(rule.when, key) or ()
                if set(used) - known:
                    raise ValueError(
                        f"rule {rule.id}: unknown treatment ids {sorted(set(used) - known)}"
                    )
        if "default" not in self.sport_technique:
            raise ValueError("sport_technique needs a 'default' entry")
        if set(self.review_interval_weeks) != {"recreational", "competitive", "professional"}:
            raise ValueError("review_interval_weeks needs every level")
        return self


def _default_path() -> Path:
    return Path(str(resources.files("hindfoot.knowledge").joinpath("data/next_steps.yaml")))


@lru_cache(maxsize=4)
def load_rules(path: Path | None = None) -> RuleSet:
    """Load and validate the rules file once (cached; files are read-only at run time)."""
    with (path or _default_path()).open(encoding="utf-8") as fh:
        return RuleSet.model_validate(yaml.safe_load(fh))


# --------------------------------------------------------------------------- derived facts


def conservative_weeks(facts: EpisodeFacts, rules: RuleSet | None = None) -> float:
    """Weeks of conservative care: as recorded, else since the first first-line treatment."""
    if facts.conservative_weeks is not None:
        return facts.conservative_weeks
    rules = rules or load_rules()
    starts = [t.started for t in facts.treatments if t.id in rules.treatments.first_line]
    if not starts:
        return 0.0
    return max(0.0, (facts.today - min(starts)).days / 7)


def _injection_count(facts: EpisodeFacts) -> int:
    implied = int(
        "injection" in facts.imaging_done
        or any(t.id == "steroid_injection" for t in facts.treatments)
    )
    return max(facts.injections, implied)


def _bony_lesion(facts: EpisodeFacts, rules: RuleSet) -> bool:
    if facts.bony_lesion is not None:
        return facts.bony_lesion
    return bool(facts.present & set(rules.bony_lesion_findings))


def _conservative_started(facts: EpisodeFacts, rules: RuleSet) -> bool:
    return any(t.id in rules.treatments.first_line for t in facts.treatments) or (
        facts.conservative_weeks is not None and facts.conservative_weeks > 0
    )


def _fmt_weeks(weeks: float) -> str:
    return f"{weeks:.0f}" if abs(weeks - round(weeks)) < 0.05 else f"{weeks:.1f}"


def escalation(facts: EpisodeFacts, rules: RuleSet | None = None) -> Escalation:
    """Apply the evidence.md 5.1 escalation rule (see the module docstring for the decisions)."""
    rules = rules or load_rules()
    cfg = rules.escalation
    weeks = conservative_weeks(facts, rules)
    injections = _injection_count(facts)
    pro_bony = facts.level == "professional" and _bony_lesion(facts, rules)
    if pro_bony:
        threshold = cfg.professional_bony_lesion_weeks
    elif injections:
        threshold = cfg.with_injection_min_weeks
    else:
        threshold = cfg.without_injection_weeks
    w = _fmt_weeks(weeks)

    if cfg.recurrence_after_injection and facts.recurrence_after_injection and injections:
        return Escalation(
            due=True,
            weeks=weeks,
            threshold_weeks=threshold,
            basis="symptoms came back after an injection that had worked",
        )
    if facts.durable_relief:
        return Escalation(
            due=False, weeks=weeks, threshold_weeks=threshold, basis="lasting relief so far"
        )
    if pro_bony and weeks >= cfg.professional_bony_lesion_weeks:
        basis = (
            f"{w} weeks without lasting relief in a professional athlete or dancer with a bony "
            f"lesion, where about {_fmt_weeks(cfg.professional_bony_lesion_weeks)} weeks is enough"
        )
        return Escalation(due=True, weeks=weeks, threshold_weeks=threshold, basis=basis)
    if injections and weeks >= cfg.with_injection_min_weeks:
        noun = "injection" if injections == 1 else "injections"
        basis = f"{w} weeks of structured rehabilitation and {injections} image-guided {noun}"
        return Escalation(due=True, weeks=weeks, threshold_weeks=threshold, basis=basis)
    if weeks >= cfg.without_injection_weeks:
        basis = f"{w} weeks (about 3 months or more) of conservative care"
        return Escalation(due=True, weeks=weeks, threshold_weeks=threshold, basis=basis)
    return Escalation(
        due=False,
        weeks=weeks,
        threshold_weeks=threshold,
        basis=f"{w} of about {_fmt_weeks(threshold)} weeks so far",
    )


def _next_review(facts: EpisodeFacts, rules: RuleSet) -> date:
    """Next review: one interval after the last review (or the start of care), never in the past."""
    interval = timedelta(weeks=rules.review_interval_weeks[facts.level])
    if facts.last_review is not None:
        base = facts.last_review
    else:
        starts = [t.started for t in facts.treatments if t.id in rules.treatments.first_line]
        base = min(starts) if starts else facts.today
    due = base + interval
    return max(due, facts.today)


# --------------------------------------------------------------------------- evaluation


def _checks(
    facts: EpisodeFacts, rules: RuleSet, esc: Escalation
) -> dict[str, Callable[[Any], bool]]:
    started = {t.id for t in facts.treatments}
    weeks = esc.weeks
    prp = facts.prp_requested or "prp" in started
    return {
        "stage_in": lambda v: facts.stage in v,
        "imaging_done_all": lambda v: set(v) <= facts.imaging_done,
        "imaging_missing_all": lambda v: not (set(v) & facts.imaging_done),
        "confirmed_diagnosis": lambda v: facts.confirmed_diagnosis is v,
        "findings_present_any": lambda v: bool(set(v) & facts.present),
        "treatments_started_any": lambda v: bool(set(v) & started),
        "treatments_missing_all": lambda v: not (set(v) & started),
        "conservative_started": lambda v: _conservative_started(facts, rules) is v,
        "conservative_weeks_min": lambda v: weeks >= v,
        "conservative_weeks_below": lambda v: weeks < v,
        "injections_min": lambda v: _injection_count(facts) >= v,
        "level_in": lambda v: facts.level in v,
        "bony_lesion": lambda v: _bony_lesion(facts, rules) is v,
        "severe_pain": lambda v: facts.severe_pain is v,
        "durable_relief": lambda v: (facts.durable_relief and not esc.due) is v,
        "escalation_due": lambda v: esc.due is v,
        "consent_recorded": lambda v: facts.consent_recorded is v,
        "mri_unavailable": lambda v: facts.mri_unavailable is v,
        "prp_mentioned": lambda v: prp is v,
    }


def _fires(rule: Rule, checks: dict[str, Callable[[Any], bool]]) -> bool:
    given: Iterable[tuple[str, Any]] = (
        (k, v) for k, v in rule.when.model_dump(exclude_none=True).items()
    )
    return all(checks[key](value) for key, value in given)


def recommend(facts: EpisodeFacts, rules: RuleSet | None = None) -> list[Recommendation]:
    """Ordered recommendations for the episode: priority first, then file order.

    Only the first firing rule of each `exclusive` group is kept (e.g. one escalation advice).
    """
    rules = rules or load_rules()
    esc = escalation(facts, rules)
    checks = _checks(facts, rules, esc)
    next_review = _next_review(facts, rules)
    ctx = {
        "weeks": _fmt_weeks(esc.weeks),
        "threshold_weeks": _fmt_weeks(esc.threshold_weeks),
        "escalation_basis": esc.basis,
        "next_review": next_review.isoformat(),
        "review_interval_weeks": _fmt_weeks(rules.review_interval_weeks[facts.level]),
        "sport_technique": rules.sport_technique.get(
            facts.sport or "", rules.sport_technique["default"]
        ),
        "level": facts.level,
    }
    ordered = sorted(enumerate(rules.rules), key=lambda pair: (pair[1].priority, pair[0]))
    seen_groups: set[str] = set()
    out: list[Recommendation] = []
    for _, rule in ordered:
        if rule.exclusive and rule.exclusive in seen_groups:
            continue
        if not _fires(rule, checks):
            continue
        if rule.exclusive:
            seen_groups.add(rule.exclusive)
        out.append(
            Recommendation(
                id=rule.id,
                title=rule.title.format_map(ctx),
                explanation=rule.explanation.format_map(ctx),
                sources=rule.sources,
                category=rule.category,
                priority=rule.priority,
                due=next_review if rule.due == "next_review" else None,
            )
        )
    return out
