"""Safety probe: degraded histories of urgent and emergency cases (pure; no I/O).

Real patients do not report what a case report records. They say the two to four things they noticed
first and are "not sure" of the rest; they forget how long it has been, how it started or that there was an
injury; their age may not be given. Every held-out set so far found a safety class the development sets did
not show, each a history of that kind. The probe derives such histories systematically from every urgent or
emergency case of a set, runs each through `assess` and through the symptom check answered from it (the
same simulated patient as `hindfoot eval --interview`: present = yes, absent = no, else "not sure"), and
reports every variant advised less than its floor.

The invariant (docs/clinical-safety.md, "Safety probe"), from the safety case's "an unknown answer never
lowers urgency":

1. no variant of an urgent or emergency case is advised self-care;
2. no variant of an emergency case is advised less than urgent while it keeps one of the case's signs of
   infection or of a foot that cannot bear weight (`EMERGENCY_KEEPS`);
3. forgetting every "no" (`no_negatives`: the present findings kept, the absent ones "not sure") keeps at
   least the case's expected disposition;
4. forgetting only the context (`CONTEXT_KINDS`: the duration, the onset, the injury, where exactly it hurts,
   the age) keeps at least what the same mode advises on the whole history.

Variants are derived deterministically from the case and a seed, so a failure is reproducible by its id.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from hindfoot.assessment.schemas import AssessmentResult, Case, Expected
from hindfoot.assessment.triage import RANK, most_urgent
from hindfoot.knowledge.loader import KnowledgeBase

# what a patient may not mention or may not know
DURATION = frozenset({"duration_under_2_weeks", "duration_over_3_months"})
ONSET = frozenset({"onset_sudden_injury", "onset_gradual"})
INJURY = frozenset({"onset_sudden_injury", "after_ankle_sprain", "injury_forced_plantarflexion", "injury_inversion",
                    "injury_high_energy", "pop_or_kick_in_calf"})
# an emergency case's variant stays at least urgent while it keeps one of these (a sign of infection or of a
# systemic illness, or a foot that cannot bear weight); without any, nothing the patient said points to one
EMERGENCY_KEEPS = frozenset({"hot_red_joint", "fever_or_unwell", "swelling_whole_ankle", "cannot_bear_weight",
                             "injury_turning_red_or_open", "pain_at_rest_or_night"})
# variants that forget only the context of the complaint, never a symptom or sign
CONTEXT_KINDS = frozenset({"no_duration", "no_onset", "no_onset_or_duration", "injury_not_mentioned", "no_site",
                           "no_age", "child", "adult"})
CHILD_AGE, ADULT_AGE = 10, 40

Assess = Callable[[Case], AssessmentResult]
Interview = Callable[[Case], tuple[AssessmentResult, int]]


@dataclass(frozen=True, slots=True)
class Variant:
    """A degraded history of case `source`: `case` is what the patient reports, `base` the whole history
    it was derived from, `floor` the least urgent disposition that is safe for it, `kind` how it was made."""

    id: str
    source: str
    kind: str
    case: Case
    base: Case
    floor: str

    @property
    def context_only(self) -> bool:
        return self.kind in CONTEXT_KINDS


@dataclass(frozen=True, slots=True)
class Failure:
    variant: Variant
    mode: str  # "assess" or "interview"
    floor: str  # the floor it fell below (the variant's, or the whole history's result for a context kind)
    advised: str
    top: str
    questions: int | None = None


def history_only(case: Case, kb: KnowledgeBase) -> Case:
    """The case as the patient could tell it: the findings a patient can answer ("self" setting)."""
    keep = {f.id for f in kb.findings if "self" in f.settings}
    return case.model_copy(update={"setting": "self", "present": tuple(f for f in case.present if f in keep),
                                   "absent": tuple(f for f in case.absent if f in keep)})


def _floor(expected: str, present: Iterable[str]) -> str:
    return "urgent" if expected == "emergency" and EMERGENCY_KEEPS & set(present) else "routine"


def variants(case: Case, expected: Expected, kb: KnowledgeBase, *, seed: int = 0, random_subsets: int = 4) -> list[Variant]:
    """The degraded histories of one urgent or emergency case (none for a routine or self-care case).

    Kinds: `first2`..`first4` (the first k findings in the report's order, which puts the chief complaint
    first; everything else "not sure", the "no" answers too), `first2_no_age`, `first2_child` (and 3);
    `randomN` (seeded subsets of 2 to 4 findings, the rest "not sure") and `randomN_with_no` (1 to 4 findings
    and every "no" kept); `no_negatives` (every "no" becomes "not sure"); the context kinds `no_duration`,
    `no_onset`, `no_onset_or_duration`, `injury_not_mentioned` (those findings, present or absent, become
    "not sure"), `no_site` (where it hurts "not sure"), `no_age`, `child` and `adult` (the age set to 10 or
    40). A case from the clinic is first reduced to its history."""
    if expected.disposition not in ("urgent", "emergency"):
        return []
    base = history_only(case, kb) if case.setting != "self" else case
    sites = frozenset(f for s in kb.interview.presenting_complaint if s.slot == "site" for f in s.findings)
    present, absent = list(base.present), list(base.absent)
    if not present:
        return []
    out: list[Variant] = []

    def add(kind: str, p: Iterable[str], a: Iterable[str], *, age: int | None = base.age, floor: str | None = None) -> None:
        p, a = tuple(p), tuple(a)
        if p:
            c = base.model_copy(update={"id": f"{case.id}~{kind}", "present": p, "absent": a, "age": age})
            out.append(Variant(id=c.id, source=case.id, kind=kind, case=c, base=base,
                               floor=floor or _floor(expected.disposition, p)))

    for k in (2, 3, 4):
        if k < len(present):
            add(f"first{k}", present[:k], ())
    for k in (2, 3):
        if k < len(present):
            add(f"first{k}_no_age", present[:k], (), age=None)
            add(f"first{k}_child", present[:k], (), age=CHILD_AGE)
    rng = random.Random(f"{seed}:{case.id}")
    for i in range(random_subsets if len(present) > 2 else 0):
        add(f"random{i}", sorted(rng.sample(present, rng.randint(2, min(4, len(present) - 1))), key=present.index), ())
    for i in range(random_subsets if len(present) > 1 and absent else 0):
        add(f"random{i}_with_no", sorted(rng.sample(present, rng.randint(1, min(4, len(present) - 1))),
                                         key=present.index), absent)
    if absent:
        # the expected disposition, unless reducing a clinic case to its history lost some of its findings
        add("no_negatives", present, (), floor=expected.disposition if len(present) == len(case.present) else None)

    def without(drop: frozenset[str]) -> tuple[list[str], list[str]]:
        return [f for f in present if f not in drop], [f for f in absent if f not in drop]

    if DURATION & set(present + absent):
        add("no_duration", *without(DURATION))
    if ONSET & set(present + absent):
        add("no_onset", *without(ONSET))
    if (DURATION | ONSET) & set(present + absent):
        add("no_onset_or_duration", *without(DURATION | ONSET))
    if INJURY & set(present):
        add("injury_not_mentioned", *without(INJURY))
    if sites & set(present):
        add("no_site", *without(sites))  # "not sure where exactly" (or somewhere the list does not name)
    if base.age is not None:
        add("no_age", present, absent, age=None)
    add("child", present, absent, age=CHILD_AGE)
    add("adult", present, absent, age=ADULT_AGE)
    return out


def probe_variants(pairs: Iterable[tuple[Case, Expected]], kb: KnowledgeBase, *, seed: int = 0,
                   random_subsets: int = 4) -> list[Variant]:
    """Every variant of every urgent or emergency case of `pairs`, in case order."""
    return [v for c, e in pairs for v in variants(c, e, kb, seed=seed, random_subsets=random_subsets)]


def check(vs: Iterable[Variant], assess: Assess, interview: Interview | None = None) -> Iterator[Failure]:
    """The variants advised less than their floor, by `assess` and (when given) by the symptom check. A
    context kind's floor is also the same mode's disposition on the whole history."""
    whole: dict[tuple[str, str], str] = {}

    def on_whole(mode: str, v: Variant) -> str:
        key = (mode, v.source)
        if key not in whole:
            whole[key] = assess(v.base).disposition if mode == "assess" else interview(v.base)[0].disposition  # type: ignore[misc]
        return whole[key]

    modes: list[tuple[str, Callable[[Case], tuple[AssessmentResult, int | None]]]] = [
        ("assess", lambda c: (assess(c), None))]
    if interview is not None:
        modes.append(("interview", interview))
    for v in vs:
        for mode, run in modes:
            floor = most_urgent([v.floor, on_whole(mode, v)]) if v.context_only else v.floor
            r, n = run(v.case)
            if RANK[r.disposition] < RANK[floor]:
                yield Failure(v, mode, floor, r.disposition, r.ranking[0].condition, n)
