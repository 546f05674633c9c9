"""Dated, sport-specific recovery plans, re-planning from real progress, and plan status.

Pure: the protocol numbers come from `knowledge/data/recovery_protocols.yaml` (so clinicians
can tune them and every figure keeps its source next to it); this module only resolves them
for one patient and does date arithmetic. No database, no clock.

Three decisions shape every plan:

* Windows, not single dates. Each milestone has `earliest`, `typical` and `latest`. Where the
  clinic pages disagree (crutches 10-15 days [S1] vs crutches or boot 1-2 weeks [S2]; running at
  2 months [S1] vs high-impact activity at 8-12 weeks [S2]) the window spans both and the
  milestone carries a `range_note`, instead of a made-up single figure.
* Criteria gate progress; dates only forecast it. Every milestone lists what must be true to
  move on (pain, range of motion, strength, hop tests, sport drills).
* Dependencies. A milestone is never dated before what it depends on, and `replan` moves later
  milestones along those links when a patient reaches one early or late.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hindfoot.errors import InvalidInput

__all__ = [
    "CATEGORIES",
    "LEVELS",
    "PROCEDURES",
    "SPORTS",
    "Milestone",
    "PlanStatus",
    "ProtocolFile",
    "RecoveryPlan",
    "build_plan",
    "load_protocols",
    "replan",
    "status",
]

Procedure = Literal[
    "posterior_arthroscopic_excision",
    "posterior_arthroscopic_debridement",
    "open_excision",
    "conservative",
]
Sport = Literal[
    "ballet",
    "contemporary_dance",
    "football",
    "rugby",
    "cricket_fast_bowling",
    "gymnastics",
    "running",
    "basketball",
    "tennis",
    "swimming",
    "cycling",
    "other_sport",
    "none",
]
Level = Literal["recreational", "competitive", "professional"]
Category = Literal["aftercare", "mobility", "activity", "sport"]

PROCEDURES: tuple[str, ...] = get_args(Procedure)
SPORTS: tuple[str, ...] = get_args(Sport)  # must equal vocabulary.yaml `sports` (tested)
LEVELS: tuple[str, ...] = get_args(Level)
CATEGORIES: tuple[str, ...] = get_args(Category)

Window = tuple[int, int, int]


def _check_window(value: Window) -> Window:
    earliest, typical, latest = value
    if not (0 <= earliest <= typical <= latest):
        raise ValueError(f"window {list(value)} must be 0 <= earliest <= typical <= latest")
    return value


# --------------------------------------------------------------------------- protocol data


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClinicPageRef(_Strict):
    """What the clinic pages say about this milestone, and why a plan may depart from it."""

    day: int = Field(ge=0)
    source: str
    tolerance_days: int = Field(14, ge=0)
    earlier_because: str
    later_because: str


class MilestoneSpec(_Strict):
    id: str
    title: str
    description: str
    category: Category
    window: Window
    by_level: dict[Level, Window] = Field(default_factory=dict)
    after: tuple[str, ...] = ()
    criteria: tuple[str, ...] = Field(min_length=1)
    source: str
    range_note: str | None = None
    clinic_page: ClinicPageRef | None = None
    adjust_as: Category | None = None
    repeat_every_days: int | None = Field(None, ge=1)

    _w = field_validator("window")(_check_window)

    @field_validator("by_level")
    @classmethod
    def _levels(cls, value: dict[Level, Window]) -> dict[Level, Window]:
        for window in value.values():
            _check_window(window)
        return value


class MilestoneOverride(_Strict):
    """Sport-specific changes to a shared milestone (only the fields given are replaced)."""

    title: str | None = None
    description: str | None = None
    window: Window | None = None
    by_level: dict[Level, Window] | None = None
    after: tuple[str, ...] | None = None
    criteria: tuple[str, ...] | None = None
    source: str | None = None


class SportSpec(_Strict):
    milestones: tuple[MilestoneSpec, ...] = ()
    overrides: dict[str, MilestoneOverride] = Field(default_factory=dict)


class ProtocolSpec(_Strict):
    milestones: tuple[MilestoneSpec, ...]
    sports: dict[Sport, SportSpec] = Field(default_factory=dict)


class ProcedureSpec(_Strict):
    label: str
    protocol: str
    source: str
    adjust: dict[Category, Window] = Field(default_factory=dict)


class ProtocolFile(_Strict):
    """The whole protocol file, validated and cross-checked once at load."""

    version: int
    procedures: dict[Procedure, ProcedureSpec]
    protocols: dict[str, ProtocolSpec]

    @model_validator(mode="after")
    def _consistent(self) -> ProtocolFile:
        missing = set(PROCEDURES) - set(self.procedures)
        if missing:
            raise ValueError(f"procedures missing from protocol file: {sorted(missing)}")
        for name, proc in self.procedures.items():
            if proc.protocol not in self.protocols:
                raise ValueError(f"procedure {name}: unknown protocol {proc.protocol!r}")
        for pname, proto in self.protocols.items():
            base_ids = [m.id for m in proto.milestones]
            if len(set(base_ids)) != len(base_ids):
                raise ValueError(f"protocol {pname}: duplicate milestone ids")
            for sport in SPORTS:
                specs = _resolve_specs(proto, sport)  # raises on bad references or cycles
                _topological(specs)
        return self


def _default_path() -> Path:
    return Path(str(resources.files("hindfoot.knowledge").joinpath("data/recovery_protocols.yaml")))


@lru_cache(maxsize=4)
def load_protocols(path: Path | None = None) -> ProtocolFile:
    """Load and validate the protocol file once (cached; the data is read-only at run time)."""
    with (path or _default_path()).open(encoding="utf-8") as fh:
        return ProtocolFile.model_validate(yaml.safe_load(fh))


def _with_departure(spec: MilestoneSpec, typical_day: int) -> str | None:
    """The milestone's range note, plus why its typical date departs from the clinic pages, if it does."""
    ref = spec.clinic_page
    if ref is None or abs(typical_day - ref.day) <= ref.tolerance_days:
        return spec.range_note
    why = ref.earlier_because if typical_day < ref.day else ref.later_because
    note = (f"This date departs from the clinic pages ({ref.source}): typical here is day {typical_day} "
            f"(about {round(typical_day / 7)} weeks), because {why}")
    return f"{spec.range_note} {note}" if spec.range_note else note


def _resolve_specs(proto: ProtocolSpec, sport: str) -> dict[str, MilestoneSpec]:
    """Shared milestones, then the sport's own, with the sport's overrides applied."""
    specs = {m.id: m for m in proto.milestones}
    sport_spec = proto.sports.get(sport)  # type: ignore[call-overload]
    if sport_spec is not None:
        for m in sport_spec.milestones:
            if m.id in specs:
                raise ValueError(f"sport {sport}: milestone {m.id} already exists; use overrides")
            specs[m.id] = m
        for mid, override in sport_spec.overrides.items():
            if mid not in specs:
                raise ValueError(f"sport {sport}: override for unknown milestone {mid}")
            changes = override.model_dump(exclude_none=True)
            if "window" in changes and "by_level" not in changes:
                changes["by_level"] = {}  # level windows were relative to the replaced window
            elif "by_level" in changes:
                changes["by_level"] = {**specs[mid].by_level, **changes["by_level"]}
            specs[mid] = specs[mid].model_copy(update=changes)
    for m in specs.values():
        unknown = [a for a in m.after if a not in specs]
        if unknown:
            raise ValueError(f"sport {sport}: milestone {m.id} depends on unknown {unknown}")
    return specs


def _topological(specs: Mapping[str, MilestoneSpec | Milestone]) -> list[str]:
    """Ids with every prerequisite first; stable in declaration order; refuses cycles."""
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(mid: str, trail: tuple[str, ...]) -> None:
        if state.get(mid) == 2:
            return
        if state.get(mid) == 1:
            raise ValueError(f"dependency cycle: {' -> '.join((*trail, mid))}")
        state[mid] = 1
        for dep in specs[mid].after:
            visit(dep, (*trail, mid))
        state[mid] = 2
        order.append(mid)

    for mid in specs:
        visit(mid, ())
    return order


# --------------------------------------------------------------------------- plan values


class Milestone(BaseModel):
    """One dated milestone of a plan.

    `*_day` are the protocol offsets from the start date and never change; `earliest`,
    `typical` and `latest` are the current dates, which `replan` may move (`shifted_days`).
    """

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    description: str
    category: Category
    earliest: date
    typical: date
    latest: date
    criteria: tuple[str, ...]
    source: str
    after: tuple[str, ...] = ()
    range_note: str | None = None
    earliest_day: int
    typical_day: int
    latest_day: int
    shifted_days: int = 0
    completed_on: date | None = None
    repeat_every_days: int | None = None


class RecoveryPlan(BaseModel):
    """A patient's plan: the inputs that made it, and its milestones in date order."""

    model_config = ConfigDict(frozen=True)

    procedure: Procedure
    procedure_label: str
    sport: Sport
    level: Level
    start: date
    protocol_version: int
    milestones: tuple[Milestone, ...]

    def milestone(self, milestone_id: str) -> Milestone:
        """The milestone with this id; `InvalidInput` names it when absent."""
        for m in self.milestones:
            if m.id == milestone_id:
                return m
        raise InvalidInput(f"no milestone {milestone_id!r} in this plan", field="milestone")

    def to_json_dict(self) -> dict[str, object]:
        """JSON-ready dict with ISO dates (the CLI and API shape)."""
        return self.model_dump(mode="json")


class PlanStatus(BaseModel):
    """Where a patient stands against their plan on a given day."""

    model_config = ConfigDict(frozen=True)

    today: date
    completed: tuple[str, ...]
    next: str | None = Field(description="First milestone not yet reached, by typical date.")
    due: tuple[str, ...] = Field(description="Not reached and inside their window today.")
    overdue: tuple[str, ...] = Field(description="Not reached and past their latest date.")
    days_overdue: int = Field(
        description="How far past its latest date the worst overdue milestone is."
    )
    drift_days: int = Field(
        description="How far the next milestone moved from the original plan (negative = ahead)."
    )
    behind: bool
    days_behind: int


# --------------------------------------------------------------------------- building


def _check_choice(value: str, allowed: Iterable[str], field: str) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        raise InvalidInput(f"unknown {field} {value!r}; allowed: {', '.join(allowed)}", field=field)


def _level_window(spec: MilestoneSpec, level: str) -> Window:
    """The level's own window; competitive defaults to midway between recreational and pro."""
    if level in spec.by_level:
        return spec.by_level[level]
    if level == "competitive" and "professional" in spec.by_level:
        (re, rt, rl), (pe, pt, pl) = spec.window, spec.by_level["professional"]
        return (round((re + pe) / 2), round((rt + pt) / 2), round((rl + pl) / 2))
    return spec.window


def _order_key(index: Mapping[str, int]) -> Callable[[Milestone], tuple[date, date, date, int]]:
    """Date order; ties keep the protocol's declaration order."""
    return lambda m: (m.typical, m.earliest, m.latest, index[m.id])


def build_plan(
    procedure: str,
    start: date,
    sport: str = "none",
    level: str = "recreational",
    *,
    protocols: ProtocolFile | None = None,
) -> RecoveryPlan:
    """Resolve the protocol for one patient into dated milestone windows.

    `start` is the day of surgery (day 0) or, for `conservative`, the first day of structured
    conservative care. Raises `InvalidInput` naming any unknown procedure, sport or level.
    """
    _check_choice(procedure, PROCEDURES, "procedure")
    _check_choice(sport, SPORTS, "sport")
    _check_choice(level, LEVELS, "level")
    data = protocols or load_protocols()
    proc = data.procedures[procedure]  # type: ignore[index]
    specs = _resolve_specs(data.protocols[proc.protocol], sport)

    days: dict[str, Window] = {}
    for mid in _topological(specs):
        spec = specs[mid]
        e, t, lt = _level_window(spec, level)
        de, dt, dl = proc.adjust.get(spec.adjust_as or spec.category, (0, 0, 0))
        e, t, lt = e + de, t + dt, lt + dl
        for dep in spec.after:  # never before what it depends on
            pe, pt, pl = days[dep]
            e, t, lt = max(e, pe), max(t, pt), max(lt, pl)
        t = max(t, e)
        lt = max(lt, t)
        days[mid] = (e, t, lt)

    milestones = [
        Milestone(
            id=mid,
            title=spec.title,
            description=spec.description,
            category=spec.category,
            earliest=start + timedelta(days=days[mid][0]),
            typical=start + timedelta(days=days[mid][1]),
            latest=start + timedelta(days=days[mid][2]),
            criteria=spec.criteria,
            source=spec.source,
            after=spec.after,
            range_note=_with_departure(spec, days[mid][1]),
            earliest_day=days[mid][0],
            typical_day=days[mid][1],
            latest_day=days[mid][2],
            repeat_every_days=spec.repeat_every_days,
        )
        for mid, spec in specs.items()
    ]
    index = {mid: i for i, mid in enumerate(specs)}
    milestones.sort(key=_order_key(index))
    return RecoveryPlan(
        procedure=procedure,  # type: ignore[arg-type]
        procedure_label=proc.label,
        sport=sport,  # type: ignore[arg-type]
        level=level,  # type: ignore[arg-type]
        start=start,
        protocol_version=data.version,
        milestones=tuple(milestones),
    )


# --------------------------------------------------------------------------- re-planning


def replan(plan: RecoveryPlan, completed: Mapping[str, date]) -> RecoveryPlan:
    """Record actual completion dates and move the milestones that depend on them.

    Always recomputed from the protocol offsets (`*_day`) plus every completion known (those
    already on the plan and the new ones), so calling it again is idempotent and never shifts
    twice. Rules, in dependency order:

    * a reached milestone keeps its planned window and gains `completed_on`; its lateness is
      `completed_on - typical`;
    * a pending milestone moves by the largest shift among its prerequisites (the slowest one
      governs). Late shifts move the whole window. Early shifts pull `typical` and `latest`
      forward but never before the protocol's `earliest` date, the healing floor;
    * nothing is dated before a pending prerequisite's current window, or before the day a
      reached prerequisite was actually reached.
    """
    by_id = {m.id: m for m in plan.milestones}
    unknown = sorted(set(completed) - set(by_id))
    if unknown:
        raise InvalidInput(f"unknown milestone id(s): {', '.join(unknown)}", field="completed")
    for mid, when in completed.items():
        if when < plan.start:
            raise InvalidInput(f"{mid} cannot be reached before the plan starts", field="completed")
    done = {m.id: m.completed_on for m in plan.milestones if m.completed_on is not None}
    done.update(completed)

    shift: dict[str, int] = {}
    current: dict[str, tuple[date, date, date]] = {}
    updated: dict[str, Milestone] = {}
    for mid in _topological(by_id):
        m = by_id[mid]
        e = plan.start + timedelta(days=m.earliest_day)
        t = plan.start + timedelta(days=m.typical_day)
        lt = plan.start + timedelta(days=m.latest_day)
        if mid in done:
            current[mid] = (e, t, lt)
            shift[mid] = (done[mid] - t).days
            updated[mid] = m.model_copy(
                update={
                    "earliest": e,
                    "typical": t,
                    "latest": lt,
                    "shifted_days": 0,
                    "completed_on": done[mid],
                }
            )
            continue
        delta = max((shift[dep] for dep in m.after), default=0)
        if delta >= 0:
            e, t, lt = (d + timedelta(days=delta) for d in (e, t, lt))
        else:
            t = max(t + timedelta(days=delta), e)
            lt = max(lt + timedelta(days=delta), t)
        for dep in m.after:
            if dep in done:  # reached: its actual date is the floor, not its planned window
                pe = pt = pl = done[dep]
            else:
                pe, pt, pl = current[dep]
            e, t, lt = max(e, pe), max(t, pt), max(lt, pl)
        t = max(t, e)
        lt = max(lt, t)
        base_t = plan.start + timedelta(days=m.typical_day)
        shift[mid] = (t - base_t).days
        current[mid] = (e, t, lt)
        updated[mid] = m.model_copy(
            update={
                "earliest": e,
                "typical": t,
                "latest": lt,
                "shifted_days": shift[mid],
                "completed_on": None,
            }
        )

    index = {m.id: i for i, m in enumerate(plan.milestones)}
    ordered = sorted(updated.values(), key=_order_key(index))
    return plan.model_copy(update={"milestones": tuple(ordered)})


def status(plan: RecoveryPlan, today: date) -> PlanStatus:
    """Which milestone is next, which are due or overdue, and whether the patient is behind.

    Behind means either a milestone is past its latest date without being reached
    (`days_overdue`), or recorded progress has pushed the next milestone later than the
    original plan (`drift_days`); `days_behind` is the larger of the two.
    """
    pending = [m for m in plan.milestones if m.completed_on is None]
    overdue = [m for m in pending if m.latest < today]
    due = [m for m in pending if m.earliest <= today <= m.latest]
    nxt = pending[0] if pending else None
    days_overdue = max(((today - m.latest).days for m in overdue), default=0)
    drift = nxt.shifted_days if nxt else 0
    days_behind = max(days_overdue, drift, 0)
    return PlanStatus(
        today=today,
        completed=tuple(m.id for m in plan.milestones if m.completed_on is not None),
        next=nxt.id if nxt else None,
        due=tuple(m.id for m in due),
        overdue=tuple(m.id for m in overdue),
        days_overdue=days_overdue,
        drift_days=drift,
        behind=days_behind > 0,
        days_behind=days_behind,
    )
