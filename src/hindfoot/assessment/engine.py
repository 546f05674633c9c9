"""The inference engine: naive Bayes over the knowledge base, explained, triaged, with next questions.

Pure Python/NumPy, no I/O of its own (the knowledge base is passed in, or the packaged one is loaded
once by hindfoot.knowledge.loader).

Model
-----
* prior(c | age, sex, sport) = base prior x matching modifiers, renormalised.
* each answered finding multiplies by P(f | c) (present) or 1 - P(f | c) (absent), raised to the
  evidence exponent alpha (< 1 damps the double counting of correlated findings). P(f | c) comes from
  the condition's table, else the finding's default_p, else the global unlisted default; every P is
  clamped into [floor, 1 - floor] (a leak: any answer may be wrong). Unknown findings are ignored.
* explanation: contribution(c, f) = alpha * log(P(answer | c) / P(answer | average patient)), where the
  average patient is the prior-weighted mixture. So for any two conditions
  log(post_a / post_b) = log(prior_a / prior_b) + sum(contrib_a) - sum(contrib_b).
* next question: expected information gain (entropy reduction over conditions, in bits), with pending
  red-flag screening questions first, restricted to what the setting can answer.

Modules (this one is the interview-facing API and re-exports what callers import):

* hindfoot.assessment.model: the compiled model (`compiled`) and the per-demographics prior cache.
* hindfoot.assessment.posterior: the posterior over components and conditions, condition triage.
* hindfoot.assessment.explain: the contributions behind each condition's explanation.
* hindfoot.assessment.questions: next questions (presenting complaint, screens, information gain).
* here: `assess` (rank, explain, triage, must-not-miss ordering, next questions) and `probabilities`.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from hindfoot.assessment import rules, triage
from hindfoot.assessment.explain import _contributions, contribution_matrix, explanations
from hindfoot.assessment.model import (
    CompiledModel,
    Demographics,
    compiled,
    component_prior,
    demographics,
    prior,
)
from hindfoot.assessment.model import _compile as _compile
from hindfoot.assessment.model import _matches as _matches
from hindfoot.assessment.posterior import (
    _component_posterior,
    coexistence,
    component_posterior,
    condition_disposition,
    established_components,
    posterior,
)
from hindfoot.assessment.questions import (
    askable_mask,
    information_gain,
    presenting_questions,
    rank_questions,
)
from hindfoot.assessment.schemas import (
    AssessmentResult,
    Case,
    Explanations,
    FiredRule,
    RankedCondition,
)
from hindfoot.knowledge.loader import EXCLUSIVE_FINDINGS, KnowledgeBase
from hindfoot.knowledge.schemas import DISPOSITION_ORDER

RANK = triage.RANK


def assess(
    case: Case,
    kb: KnowledgeBase | None = None,
    *,
    answered: Collection[str] | None = None,
    question_limit: int = 5,
    explain: bool = True,
) -> AssessmentResult:
    """Rank every condition for `case`, explain the ranking, triage it and propose next questions.

    `answered` (optional) adds findings already asked without a usable answer ("don't know"), so they
    are not proposed again; they do not change the probabilities.
    """
    model = compiled(kb)
    kb = model.kb
    pres = [model.fidx[f] for f in case.present]
    abs_ = [model.fidx[f] for f in case.absent]
    demo = demographics(model, case.age, case.sex, case.sport)
    prior_p = demo.prior
    established_comps = established_components(model, pres)
    comp_post = _component_posterior(model, demo, pres, abs_, established_comps)
    post = model.M @ comp_post
    order = np.argsort(-post, kind="stable").tolist()
    established = model.establishes[pres] if pres else model.establishes[:0]
    if (established >= 0).any():
        # a positive reference-standard test establishes its condition: it leads the list (whatever else
        # the patient has is ranked after it, by probability)
        first = set(established[established >= 0].tolist())
        order = [c for c in order if c in first] + [c for c in order if c not in first]

    present_set = set(case.present)
    post_list, prior_list = post.tolist(), prior_p.tolist()
    probs = dict(zip(model.condition_ids, post_list, strict=True))
    from_conditions = condition_disposition(model, post)
    decision_rules = rules.evaluate(kb, present_set, case.absent, case.age, probs)
    disposition, fired, open_screens = triage.decide(
        kb, present_set, case.absent, probs, from_conditions, [r.disposition for r in decision_rules if r.disposition],
        age=case.age,
    )
    order, listed_first_by = _must_not_miss_first(model, order, post, fired, decision_rules,
                                                  established=set(established[established >= 0].tolist()))

    # explain each condition by its most probable component (its leading subtype, if any)
    leading = np.argmax(np.where(model.member, comp_post[None, :], -1.0), axis=1)[order].tolist()
    ex: Explanations | None = None
    totals = [0.0] * len(order)
    if explain:
        contrib = _contributions(model, demo, pres, abs_)
        if established_comps.size:
            contrib = coexistence(model, contrib, established_comps, pres)
        ex, totals = explanations(model, leading, contrib, pres, abs_)
    cids, names, subtypes, dispositions = (model.condition_ids, model.names, model.comp_subtype,
                                           model.default_dispositions)
    moved_by = listed_first_by.get
    ranking = tuple([
        RankedCondition(
            condition=cids[ci],
            name=names[ci],
            probability=post_list[ci],
            prior=prior_list[ci],
            log_evidence=total,
            subtype=subtypes[ki],
            default_disposition=dispositions[ci],
            explanations=ex,
            row=row,
            listed_first_by=moved_by(ci),
        )
        for row, (ci, ki, total) in enumerate(zip(order, leading, totals, strict=True))
    ])

    # a finding that excludes one already present (over three months, under two weeks) is not asked
    implied = {b for a, b in EXCLUSIVE_FINDINGS if a in present_set} | {a for a, b in EXCLUSIVE_FINDINGS if b in present_set}
    # nor the other answers of a choice whose answers exclude each other ("gradually" after "with an injury")
    for slot in kb.interview.presenting_complaint:
        if slot.exclusive and any(f in present_set for f in slot.findings):
            implied.update(slot.findings)
    done = present_set | set(case.absent) | set(answered or ()) | implied
    questions = rank_questions(
        model, case.setting, comp_post, present_set, done, limit=question_limit, probs=probs, absent=case.absent,
        age=case.age,
    )
    return AssessmentResult(
        id=case.id,
        setting=case.setting,
        ranking=ranking,
        disposition=disposition,  # type: ignore[arg-type]
        disposition_from_conditions=from_conditions,  # type: ignore[arg-type]
        red_flags=tuple(fired),
        next_questions=tuple(questions),
        not_ruled_out=tuple(open_screens),
        decision_rules=decision_rules,
    )


# a condition at least this probable stays ahead of conditions that rules only "do not exclude" (EE)
LIKELY = 0.5


def _must_not_miss_first(
    model: CompiledModel,
    order: list[int],
    post: np.ndarray,
    fired: list[FiredRule],
    decision_rules: tuple[rules.RuleResult, ...] | list[rules.RuleResult] = (),
    *,
    established: set[int],
) -> tuple[list[int], dict[int, str]]:
    """`order` with the conditions suspected by the fired urgent or emergency red-flag rules and by the
    decision rules whose result asks for urgent or emergency care moved to the front: a must-not-miss
    condition that a rule says cannot be ruled out leads the differential until a test or an answer
    excludes it, whatever its prior. Among them: the most urgent first, then those with positive
    evidence (a sign, a test, a decision rule) before those only "not excluded", then by probability; a
    condition established by a reference-standard test stays ahead of them all, and one the evidence
    already makes likely (`LIKELY`) stays ahead of those only "not excluded". Also returns, for each
    condition moved, the rule that moved it."""
    leading, suspects, cidx = model.leading_rules, model.decision_rule_suspects, model.condition_ids.index
    urgent = RANK["urgent"]
    ranked = [(RANK[r.disposition], cidx(r.suspected), r.rule) for r in fired
              if r.suspected and r.rule in leading and RANK[r.disposition] >= urgent]
    ranked += [(RANK[d.disposition], cidx(suspects[d.rule]), d.rule) for d in decision_rules
               if d.disposition and d.rule in suspects and RANK[d.disposition] >= urgent]
    if not ranked:
        return order, {}
    position = {c: i for i, c in enumerate(order)}
    weak = model.not_excluded_rules
    ranked.sort(key=lambda rc: (-rc[0], rc[2] in weak, position[rc[1]]))
    head = [c for c in order if c in established]
    by: dict[int, str] = {}
    for _, c, rule in ranked:
        if c not in head:
            by.setdefault(c, rule)
    lead = list(by)
    likely = order[0]
    if likely not in by and likely not in head and post[likely] >= LIKELY:
        # a condition the evidence already makes likely (PAI in a dancer who hurt the back of her ankle)
        # keeps its place ahead of conditions that are only "not excluded"; those follow it
        strong = [c for c in lead if by[c] not in weak]
        lead = strong + [likely] + [c for c in lead if by[c] in weak]
    return head + lead + [c for c in order if c not in head and c not in lead], by


def probabilities(case: Case, kb: KnowledgeBase | None = None) -> dict[str, float]:
    """Just the posterior over conditions (fast path, no explanation)."""
    model = compiled(kb)
    prior_p = prior(model, case.age, case.sex, case.sport)
    post = posterior(
        model, prior_p, (model.fidx[f] for f in case.present), (model.fidx[f] for f in case.absent)
    )
    return dict(zip(model.condition_ids, post.tolist(), strict=True))

__all__ = [
    "DISPOSITION_ORDER",
    "RANK",
    "CompiledModel",
    "Demographics",
    "askable_mask",
    "assess",
    "coexistence",
    "compiled",
    "component_posterior",
    "component_prior",
    "condition_disposition",
    "contribution_matrix",
    "demographics",
    "established_components",
    "explanations",
    "information_gain",
    "posterior",
    "presenting_questions",
    "prior",
    "probabilities",
    "rank_questions",
]
