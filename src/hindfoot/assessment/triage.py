"""Red-flag rules and disposition (pure; no I/O).

Rules can only RAISE urgency. The advised disposition is the most urgent of the fired rules and of the
disposition implied by the ranked conditions (emergency > urgent > routine > self_care).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from hindfoot.assessment.schemas import FiredRule, OpenScreen
from hindfoot.knowledge.loader import KnowledgeBase
from hindfoot.knowledge.schemas import DISPOSITION_ORDER, RedFlagRule, SafetyScreen

RANK = {d: i for i, d in enumerate(DISPOSITION_ORDER)}
SCREEN_GROUPS = frozenset({"history", "exam"})


def most_urgent(dispositions: Iterable[str]) -> str:
    """The most urgent of `dispositions` (self_care when empty)."""
    return max(dispositions, key=RANK.__getitem__, default="self_care")


# Rules are checked on every assessment and on every interview step, so each is compiled once per
# knowledge base into bit masks over the findings (bit i = the i-th finding of the knowledge base):
# "some finding of this group is present" is then one AND of two integers.


@dataclass(frozen=True, slots=True)
class _Rule:
    rule: RedFlagRule
    rank: int
    unless: int  # mask of the findings that rule it out
    # `unless` findings that are answers of a question where several may be ticked (where it hurts), per
    # such question: (those answers, the question's other answers). They rule it out only when no other
    # answer was ticked too: "pain at the front" points away from the tendon; "the front and the heel" not
    unless_ticked: tuple[tuple[int, int], ...]
    unless_absent: int  # mask of the findings whose answer "no" rules it out
    requires_absent: int  # mask of the findings that must be answered "no"
    groups: tuple[int, ...]  # one mask per all_of group: each needs a present finding
    screens: tuple[tuple[tuple[str, int], ...], ...]  # per group: its history/exam findings (id, bit), in order
    open_screen: int  # index of the safety screen that must still be open for it to fire (-1: none)
    skip: tuple[tuple[int, int], ...]  # not_asked_when as (absent mask, present mask)


@dataclass(frozen=True, slots=True)
class _Screen:
    screen: SafetyScreen
    # (absent, present, unless masks): closed when the first two are fully answered so and nothing of
    # `unless` is present
    ways: tuple[tuple[int, int, int], ...]
    ask: tuple[tuple[str, int], ...]  # (id, bit) of the questions that could close it, in order


@dataclass(frozen=True)
class _Rules:
    bit: dict[str, int]
    rules: tuple[_Rule, ...]
    screen_rules: tuple[_Rule, ...]
    safety_screens: tuple[_Screen, ...]
    screening_findings: frozenset[str]  # every finding a rule screen or safety screen may ask
    screen_sources: tuple[str, ...]  # the source keys of every safety screen
    choices: tuple[int, ...]  # per choice question of the presenting complaint: the mask of its answers
    _masks: dict[frozenset[str], int] = field(default_factory=dict)  # askable sets seen so far

    def mask(self, ids: Iterable[str]) -> int:
        bit, m = self.bit, 0
        for f in ids:
            m |= bit.get(f, 0)
        return m

    def askable_mask(self, askable: frozenset[str] | None) -> int:
        if askable is None:
            return (1 << len(self.bit)) - 1
        m = self._masks.get(askable)
        if m is None:
            m = self._masks[askable] = self.mask(askable)
        return m


def _rules(kb: KnowledgeBase) -> _Rules:
    cached = kb._cache.get("triage")
    if cached is None:
        bit = {f.id: 1 << i for i, f in enumerate(kb.findings)}

        def mask(ids: Iterable[str]) -> int:
            return sum(bit[f] for f in set(ids))

        def screens(group: list[str]) -> tuple[tuple[str, int], ...]:
            return tuple((f, bit[f]) for f in group if kb.finding_by_id[f].group in SCREEN_GROUPS)

        ticked = [set(s.findings) for s in kb.interview.presenting_complaint if s.multiple]

        def unless_ticked(r: RedFlagRule) -> tuple[tuple[int, int], ...]:
            return tuple((mask(opts & set(r.unless)), mask(opts - set(r.unless))) for opts in ticked
                         if opts & set(r.unless))

        screen_index = {sc.id: i for i, sc in enumerate(kb.red_flags.screens)}
        compiled = tuple(
            _Rule(rule=r, rank=RANK[r.disposition],
                  unless=mask(set(r.unless).difference(*ticked)), unless_ticked=unless_ticked(r),
                  unless_absent=mask(r.unless_absent),
                  requires_absent=mask(r.requires_absent), groups=tuple(mask(g) for g in r.all_of),
                  screens=tuple(screens(g) for g in r.all_of),
                  open_screen=screen_index[r.unless_excluded] if r.unless_excluded else -1,
                  skip=tuple((mask(w.absent), mask(w.present)) for w in r.not_asked_when))
            for r in kb.rules
        )
        safety = tuple(
            _Screen(screen=sc, ways=tuple((mask(w.absent), mask(w.present), mask(w.unless)) for w in sc.excluded_by),
                    ask=tuple((f, bit[f]) for f in sc.ask))
            for sc in kb.red_flags.screens
        )
        cached = kb._cache["triage"] = _Rules(bit=bit, rules=compiled,
                                              screen_rules=tuple(r for r in compiled if r.rule.screen),
                                              safety_screens=safety,
                                              screening_findings=frozenset(
                                                  [f for r in compiled if r.rule.screen for g in r.screens for f, _ in g]
                                                  + [f for sc in safety for f, _ in sc.ask]),
                                              screen_sources=tuple(dict.fromkeys(
                                                  k for sc in kb.red_flags.screens for k in sc.src)),
                                              choices=tuple(mask(s.findings) for s in kb.interview.presenting_complaint
                                                            if s.ask == "choice"))
    return cached


def _probability_ok(rule: RedFlagRule, probabilities: Mapping[str, float] | None) -> bool:
    if rule.min_probability is None:
        return True
    if probabilities is None:
        return False
    return probabilities.get(rule.min_probability.condition, 0.0) >= rule.min_probability.p


def _closed(sc: _Screen, present: int, absent: int) -> bool:
    """The screen was answered "no": some way of excluding it is fully answered. Unknown never closes."""
    return any(not (a & ~absent) and not (p & ~present) and not u & present for a, p, u in sc.ways)


def _open_mask(rules: _Rules, present: int, absent: int) -> int:
    """Bit i set when safety screen i is still open."""
    m = 0
    for i, sc in enumerate(rules.safety_screens):
        if not _closed(sc, present, absent):
            m |= 1 << i
    return m


def _ruled_out(r: _Rule, present: int, absent: int) -> bool:
    """Something answered rules it out: an `unless` finding present (of a question where several may be
    ticked, only with none of its other answers ticked), or an `unless_absent` finding answered "no"."""
    return bool(r.unless & present or r.unless_absent & absent
                or any(u & present and not other & present for u, other in r.unless_ticked))


def _age_ok(rule: RedFlagRule, age: int | None) -> bool:
    return rule.age_max is None or (age is not None and age <= rule.age_max)


def _fires(
    r: _Rule, present: int, probabilities: Mapping[str, float] | None, open_screens: int = -1, absent: int = 0,
    age: int | None = None,
) -> bool:
    return (
        _age_ok(r.rule, age)
        and not _ruled_out(r, present, absent)
        and r.requires_absent & ~absent == 0
        and all(map(present.__and__, r.groups))
        and (r.open_screen < 0 or bool(open_screens >> r.open_screen & 1))
        and _probability_ok(r.rule, probabilities)
    )


def fired_rules(
    kb: KnowledgeBase,
    present: set[str],
    probabilities: Mapping[str, float] | None = None,
    absent: Iterable[str] = (),
    age: int | None = None,
) -> list[FiredRule]:
    """The rules that apply now (every group has a present finding, nothing answered rules it out
    (`_ruled_out`), the safety screen named by `unless_excluded`, if any, is still open, and the
    probability condition, if any, holds), most urgent first. Without `absent` every safety screen counts as open (the safe side)."""
    rules = _rules(kb)
    pm, am = rules.mask(present), rules.mask(absent)
    return _fired(rules, present, pm, _open_mask(rules, pm, am), probabilities, am, age)


def _fired(
    rules: _Rules, present: set[str], pm: int, om: int, probabilities: Mapping[str, float] | None, am: int = 0,
    age: int | None = None,
) -> list[FiredRule]:
    out = [
        FiredRule(
            rule=rule.id,
            disposition=rule.disposition,
            suspected=rule.suspected,
            findings=tuple(f for group in rule.all_of for f in group if f in present),
            advice=rule.advice,
            sources=tuple(rule.src),
        )
        for r in rules.rules
        if _fires(r, pm, probabilities, om, am, age)
        for rule in (r.rule,)
    ]
    out.sort(key=lambda r: -RANK[r.disposition])
    return out


def screening_findings(kb: KnowledgeBase) -> frozenset[str]:
    """Every finding a red-flag rule screen or a safety screen may ask."""
    return _rules(kb).screening_findings


def open_screens(
    kb: KnowledgeBase, present: Iterable[str], absent: Iterable[str], askable: frozenset[str] | None = None
) -> list[OpenScreen]:
    """The safety screens not yet answered "no", in file order, each naming the first of its questions
    that is unanswered and can be asked here (or its first question when none can)."""
    rules = _rules(kb)
    pm, am = rules.mask(present), rules.mask(absent)
    return _open_screens(kb, rules, pm, am, _open_mask(rules, pm, am), askable)


def _open_screens(
    kb: KnowledgeBase, rules: _Rules, pm: int, am: int, om: int, askable: frozenset[str] | None = None
) -> list[OpenScreen]:
    can = rules.askable_mask(askable) & ~(pm | am)
    out: list[OpenScreen] = []
    for i, sc in enumerate(rules.safety_screens):
        if not om >> i & 1:
            continue
        fid = next((f for f, b in sc.ask if b & can), sc.ask[0][0])
        out.append(OpenScreen(screen=sc.screen.id, condition=sc.screen.condition, label=sc.screen.label,
                              finding=fid, question=kb.finding_by_id[fid].question))
    return out


def uncertainty_rule(screens: list[OpenScreen], sources: tuple[str, ...]) -> FiredRule:
    """The routine-level entry that keeps self-care off while safety screens are open."""
    named = "; ".join(f"we could not rule out {s.label}: {s.question}" for s in screens)
    return FiredRule(
        rule="screens_not_answered",
        disposition="routine",
        suspected=screens[0].condition,
        findings=(),
        advice=f"Self-care is advised only when the checks for a fracture, a torn Achilles tendon, an infected "
        f"joint and a blood clot were answered \"no\". Please have it looked at: {named}.",
        sources=sources,
    )


def decide(
    kb: KnowledgeBase,
    present: set[str],
    absent: Iterable[str],
    probabilities: Mapping[str, float] | None,
    from_conditions: str,
    from_decision_rules: Iterable[str] = (),
    age: int | None = None,
) -> tuple[str, list[FiredRule], list[OpenScreen]]:
    """The advised disposition, the rules behind it and the open safety screens.

    The disposition is the most urgent of `from_conditions`, the fired rules and the positive decision
    rules; self-care is raised to routine while any safety screen is open (an unknown answer never
    lowers urgency)."""
    rules = _rules(kb)
    pm, am = rules.mask(present), rules.mask(absent)
    om = _open_mask(rules, pm, am)
    fired = _fired(rules, present, pm, om, probabilities, am, age)
    screens = _open_screens(kb, rules, pm, am, om)
    disposition = most_urgent([from_conditions, *(r.disposition for r in fired), *from_decision_rules])
    if disposition == "self_care" and screens:
        fired.append(uncertainty_rule(screens, rules.screen_sources))
        disposition = "routine"
    return disposition, fired, screens


def pending_screen_questions(
    kb: KnowledgeBase,
    present: set[str],
    answered: set[str],
    askable: frozenset[str] | None = None,
    probabilities: Mapping[str, float] | None = None,
    absent: Iterable[str] = (),
    age: int | None = None,
) -> list[str]:
    """Findings to ask first, in rule-file order: for every screening rule that is still pending (it
    has not fired, nothing present rules it out, and each unmet group still has an unanswered finding
    that can be asked) and that could raise the current urgency, the first unanswered, askable
    history/exam finding of its first unmet group; then, for every safety screen still open, its first
    unanswered askable question. `answered` holds every finding already answered
    (present, absent or unknown); `askable` the findings that can be asked here (None: all)."""
    rules = _rules(kb)
    pm = rules.mask(present)
    am = rules.mask(absent)
    om = _open_mask(rules, pm, am)
    open_ = rules.askable_mask(askable) & ~rules.mask(answered)
    for options in rules.choices:
        if options & ~open_:
            open_ &= ~options  # a choice question asked already (the patient ticked what applies, or "not sure")
    current = max((r.rank for r in rules.screen_rules if _fires(r, pm, probabilities, om, am, age)), default=0)
    out: list[str] = []
    for r in rules.screen_rules:
        if r.unless_absent & open_ and _fires(r, pm, probabilities, om, am, age):
            # a fired safety net that a "no" would end (it fired on an unknown answer): ask that question
            # once; "not sure" keeps it, as an unknown never lowers urgency
            f = next(f for f, b in _bits(rules, r.rule.unless_absent) if b & open_)
            if f not in out:
                out.append(f)
            continue
        if (r.rank <= current or not _age_ok(r.rule, age) or _ruled_out(r, pm, am)
                or not _probability_ok(r.rule, probabilities)):
            continue
        if r.open_screen >= 0 and not om >> r.open_screen & 1:
            continue  # what it guards against was ruled out already
        if any(not (a & ~am) and not (p & ~pm) for a, p in r.skip):
            continue  # pointless to ask (e.g. no injury at all)
        if r.requires_absent & ~am & ~open_:
            continue  # a finding it needs answered "no" was answered otherwise (or cannot be asked)
        unmet = [i for i, g in enumerate(r.groups) if not g & pm]
        if not unmet or any(not r.groups[i] & open_ for i in unmet):
            continue  # fired already, or a group can no longer be met
        # one screening question per rule: the first history/exam finding not yet answered of its first
        # unmet group (investigations are ordered, not asked; other findings are left to information gain)
        for f, b in r.screens[unmet[0]]:
            if b & open_:
                if f not in out:
                    out.append(f)
                break
    # then every safety screen still open: its first question that can be asked (an answer "no" closes
    # it and lets the urgency come down; "not sure" leaves it open)
    for i, sc in enumerate(rules.safety_screens):
        if om >> i & 1:
            for f, b in sc.ask:
                if b & open_:
                    if f not in out:
                        out.append(f)
                    break
    return out


def _bits(rules: _Rules, ids: Iterable[str]) -> list[tuple[str, int]]:
    return [(f, rules.bit[f]) for f in ids]


def condition_disposition(kb: KnowledgeBase, probabilities: Mapping[str, float]) -> str:
    """Most urgent level whose probability mass (conditions at least that urgent) reaches its threshold."""
    t = kb.red_flags.condition_triage
    thresholds = {"emergency": t.emergency.p, "urgent": t.urgent.p, "routine": t.routine.p}
    for level in ("emergency", "urgent", "routine"):
        mass = sum(
            p
            for cid, p in probabilities.items()
            if RANK[kb.condition_by_id[cid].default_disposition] >= RANK[level]
        )
        if mass >= thresholds[level]:
            return level
    return "self_care"
