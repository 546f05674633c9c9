"""Red-flag rules and disposition (pure; no I/O).

Rules can only RAISE urgency. The advised disposition is the most urgent of the fired rules and of the
disposition implied by the ranked conditions (emergency > urgent > routine > self_care).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from hindfoot.assessment.schemas import FiredRule
from hindfoot.knowledge.loader import KnowledgeBase
from hindfoot.knowledge.schemas import DISPOSITION_ORDER, RedFlagRule

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
    groups: tuple[int, ...]  # one mask per all_of group: each needs a present finding
    screens: tuple[tuple[tuple[str, int], ...], ...]  # per group: its history/exam findings (id, bit), in order


@dataclass(frozen=True)
class _Rules:
    bit: dict[str, int]
    rules: tuple[_Rule, ...]
    screen_rules: tuple[_Rule, ...]
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

        compiled = tuple(
            _Rule(rule=r, rank=RANK[r.disposition], unless=mask(r.unless), groups=tuple(mask(g) for g in r.all_of),
                  screens=tuple(screens(g) for g in r.all_of))
            for r in kb.rules
        )
        cached = kb._cache["triage"] = _Rules(bit=bit, rules=compiled,
                                              screen_rules=tuple(r for r in compiled if r.rule.screen))
    return cached


def _probability_ok(rule: RedFlagRule, probabilities: Mapping[str, float] | None) -> bool:
    if rule.min_probability is None:
        return True
    if probabilities is None:
        return False
    return probabilities.get(rule.min_probability.condition, 0.0) >= rule.min_probability.p


def _fires(r: _Rule, present: int, probabilities: Mapping[str, float] | None) -> bool:
    return not r.unless & present and all(map(present.__and__, r.groups)) and _probability_ok(r.rule, probabilities)


def fired_rules(
    kb: KnowledgeBase, present: set[str], probabilities: Mapping[str, float] | None = None
) -> list[FiredRule]:
    """The rules that apply now (every group has a present finding, none of `unless` is present and
    the probability condition, if any, holds), most urgent first."""
    rules = _rules(kb)
    pm = rules.mask(present)
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
        if _fires(r, pm, probabilities)
        for rule in (r.rule,)
    ]
    out.sort(key=lambda r: -RANK[r.disposition])
    return out


def pending_screen_questions(
    kb: KnowledgeBase,
    present: set[str],
    answered: set[str],
    askable: frozenset[str] | None = None,
    probabilities: Mapping[str, float] | None = None,
) -> list[str]:
    """Findings to ask first, in rule-file order: for every screening rule that is still pending (it
    has not fired, nothing present rules it out, and each unmet group still has an unanswered finding
    that can be asked) and that could raise the current urgency, the first unanswered, askable
    history/exam finding of its first unmet group. `answered` holds every finding already answered
    (present, absent or unknown); `askable` the findings that can be asked here (None: all)."""
    rules = _rules(kb)
    pm = rules.mask(present)
    open_ = rules.askable_mask(askable) & ~rules.mask(answered)
    current = max((r.rank for r in rules.screen_rules if _fires(r, pm, probabilities)), default=0)
    out: list[str] = []
    for r in rules.screen_rules:
        if r.rank <= current or r.unless & pm or not _probability_ok(r.rule, probabilities):
            continue
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
    return out


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
