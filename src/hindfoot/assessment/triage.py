"""Red-flag rules and disposition (pure; no I/O).

Rules can only RAISE urgency. The advised disposition is the most urgent of the fired rules and of the
disposition implied by the ranked conditions (emergency > urgent > routine > self_care).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Literal

from hindfoot.assessment.schemas import FiredRule
from hindfoot.knowledge.loader import KnowledgeBase
from hindfoot.knowledge.schemas import DISPOSITION_ORDER, RedFlagRule

RuleState = Literal["fired", "pending", "dead"]
RANK = {d: i for i, d in enumerate(DISPOSITION_ORDER)}
SCREEN_GROUPS = frozenset({"history", "exam"})


def most_urgent(dispositions: Iterable[str]) -> str:
    """The most urgent of `dispositions` (self_care when empty)."""
    return max(dispositions, key=RANK.__getitem__, default="self_care")


def _probability_ok(rule: RedFlagRule, probabilities: Mapping[str, float] | None) -> bool:
    if rule.min_probability is None:
        return True
    if probabilities is None:
        return False
    return probabilities.get(rule.min_probability.condition, 0.0) >= rule.min_probability.p


def fires(rule: RedFlagRule, present: set[str], probabilities: Mapping[str, float] | None = None) -> bool:
    """Whether `rule` applies now (the same as `rule_state(rule, present, present, ...) == "fired"`)."""
    return (
        rule.unless_set.isdisjoint(present)
        and all(not group.isdisjoint(present) for group in rule.group_sets)
        and _probability_ok(rule, probabilities)
    )


def rule_state(
    rule: RedFlagRule,
    present: set[str],
    answered: set[str],
    probabilities: Mapping[str, float] | None = None,
    askable: Callable[[str], bool] = lambda _f: True,
) -> RuleState:
    """`fired` when it applies now; `pending` when asking an unanswered, askable finding could fire it;
    `dead` otherwise. `answered` holds every finding already answered (present, absent or unknown)."""
    if not rule.unless_set.isdisjoint(present):
        return "dead"
    groups_ok = [not group.isdisjoint(present) for group in rule.group_sets]
    if all(groups_ok):
        return "fired" if _probability_ok(rule, probabilities) else "pending"
    for group, ok in zip(rule.all_of, groups_ok, strict=True):
        if not ok and not any(f not in answered and askable(f) for f in group):
            return "dead"
    return "pending"


def fired_rules(
    kb: KnowledgeBase, present: set[str], probabilities: Mapping[str, float] | None = None
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
        for rule in kb.rules
        if fires(rule, present, probabilities)
    ]
    out.sort(key=lambda r: -RANK[r.disposition])
    return out


def pending_screen_questions(
    kb: KnowledgeBase,
    present: set[str],
    answered: set[str],
    askable: Callable[[str], bool],
    probabilities: Mapping[str, float] | None = None,
) -> list[str]:
    """Findings to ask first, in rule-file order: for every screening rule that is still pending and
    could raise the current urgency, the first unanswered, askable history/exam finding of its first
    unmet group."""
    screens = kb.screen_rules
    current = RANK[most_urgent(r.disposition for r in screens if fires(r, present, probabilities))]
    out: list[str] = []
    for rule in screens:
        if RANK[rule.disposition] <= current:
            continue
        if rule.min_probability is not None and not _probability_ok(rule, probabilities):
            continue
        if rule_state(rule, present, answered, probabilities, askable) != "pending":
            continue
        for group in rule.all_of:
            if any(f in present for f in group):
                continue
            # one screening question per rule: the first history/exam finding not yet answered
            # (investigations are ordered, not asked; other findings are left to information gain)
            for f in group:
                if f not in answered and askable(f) and kb.finding_by_id[f].group in SCREEN_GROUPS:
                    if f not in out:
                        out.append(f)
                    break
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
