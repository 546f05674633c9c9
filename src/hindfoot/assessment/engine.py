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
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from hindfoot.assessment import rules, triage
from hindfoot.assessment.schemas import (
    AssessmentResult,
    Case,
    Explanations,
    FiredRule,
    NextQuestion,
    RankedCondition,
)
from hindfoot.knowledge.loader import EXCLUSIVE_FINDINGS, KnowledgeBase, load_kb
from hindfoot.knowledge.schemas import (
    DISPOSITION_ORDER,
    Disposition,
    ModifierWhen,
    PresentingSlot,
    SourcedP,
)

RANK = triage.RANK


@dataclass(frozen=True, eq=False)
class CompiledModel:
    """Numpy matrices of one knowledge base (built once per KB, see `compiled`).

    Rows are components: one per condition, or one per subtype of a condition that has subtypes
    (the condition is then a mixture of its subtypes).
    """

    kb: KnowledgeBase
    condition_ids: tuple[str, ...]
    finding_ids: tuple[str, ...]
    fidx: dict[str, int]
    P: np.ndarray  # (K, F) P(finding present | component), clamped
    logp: np.ndarray  # alpha * log P
    log1mp: np.ndarray  # alpha * log(1 - P)
    Pa: np.ndarray  # P ** alpha (likelihood of "present" as used in updates)
    Qa: np.ndarray  # (1 - P) ** alpha
    PQa: np.ndarray  # (K, 2F) [Pa | Qa]: the answer likelihoods side by side, for one pass over both answers
    alpha: np.ndarray  # (F,) evidence exponent per finding: the global one, 1 for tests with published accuracy
    sources: tuple[tuple[tuple[str, ...], ...], ...]  # [k][f] source keys of P
    # [k][f] ("present") and [k][F + f] ("absent"): the public JSON of that contribution but its value,
    # shared by every assessment; copied, never changed (see schemas.result_json)
    contribution_stubs: tuple[tuple[dict[str, Any], ...], ...]
    base_prior: np.ndarray  # (C,)
    modifiers: tuple[tuple[int, ModifierWhen, float], ...]
    comp_condition: np.ndarray  # (K,) condition index of each component
    comp_weight: np.ndarray  # (K,) subtype weight within its condition (1 when no subtypes)
    comp_subtype: tuple[str | None, ...]
    M: np.ndarray  # (C, K) 0/1 aggregation of components into conditions
    member: np.ndarray  # (C, K) bool: M > 0
    history_mask: np.ndarray  # (F,) bool: answerable in self-assessment
    all_mask: np.ndarray  # (F,) bool: all True (answerable in clinic)
    self_askable: frozenset[str]
    establishes: np.ndarray  # (F,) int: the condition a positive reference-standard test establishes (-1: none)
    disposition_rank: np.ndarray  # (C,) default disposition rank
    triage_levels: tuple[tuple[str, float, np.ndarray], ...]  # (level, threshold, conditions at least as urgent)
    names: tuple[str, ...]
    default_dispositions: tuple[Disposition, ...]
    leading_rules: frozenset[str]  # red-flag rules whose suspected condition leads the differential when fired
    decision_rule_suspects: dict[str, str]  # decision rule id -> the condition a positive result points to
    not_excluded_rules: frozenset[str]  # red-flag rules that fire on an open safety screen ("X not excluded")
    # (age, sex, sport) -> what depends only on them (see `demographics`): filled on first use; bounded by the
    # demographics the Case allows
    priors: dict[tuple[int | None, str | None, str | None], Demographics] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, eq=False)
class Demographics:
    """Everything the engine derives from (age, sex, sport) alone, computed once per compiled model and
    shared, read-only, by every later case with those demographics (see `demographics`)."""

    prior: np.ndarray  # (C,) prior over conditions, sums to 1
    comp_prior: np.ndarray  # (K,) prior over components
    log_comp_prior: np.ndarray  # (K,) its log (-inf where 0)
    yes_base: np.ndarray  # (F,) alpha * log P(present | the prior-weighted average patient)
    no_base: np.ndarray  # (F,) alpha * log P(absent | the prior-weighted average patient)


def compiled(kb: KnowledgeBase | None = None) -> CompiledModel:
    """The compiled model of `kb` (default: the packaged knowledge base), cached on the KB object."""
    kb = kb or load_kb()
    model = kb._cache.get("model")
    if model is None:
        model = _compile(kb)
        kb._cache["model"] = model
    return model


def _compile(kb: KnowledgeBase) -> CompiledModel:
    d = kb.defaults
    floor = d.probability_floor.value
    # a test with published sensitivity and specificity is measured against the reference standard
    # directly: its likelihood ratio is used as published (exponent 1); the damping is for symptoms and
    # signs whose correlation naive Bayes would otherwise count twice
    alpha = np.array([1.0 if f.accuracy is not None else d.evidence_exponent.value for f in kb.findings])
    cids = tuple(c.id for c in kb.conditions)
    fids = tuple(f.id for f in kb.findings)
    rows: list[list[float]] = []
    sources: list[tuple[tuple[str, ...], ...]] = []
    comp_cond: list[int] = []
    comp_weight: list[float] = []
    comp_subtype: list[str | None] = []
    for ci, cond in enumerate(kb.conditions):
        variants: list[tuple[str | None, float, dict[str, SourcedP]]] = [
            (st.id, st.weight.p, st.likelihoods) for st in cond.subtypes
        ] or [(None, 1.0, {})]
        for sub_id, weight, overrides in variants:
            row: list[float] = []
            row_src: list[tuple[str, ...]] = []
            for finding in kb.findings:
                acc = finding.accuracy
                entry = (
                    overrides.get(finding.id)
                    or (acc.sensitivity if acc is not None and acc.condition == cond.id else None)
                    or cond.likelihoods.get(finding.id)
                    or (acc.false_positive_rate if acc is not None else None)
                    or finding.default_p
                    or d.unlisted_p
                )
                row.append(entry.p)
                row_src.append(tuple(entry.src))
            rows.append(row)
            sources.append(tuple(row_src))
            comp_cond.append(ci)
            comp_weight.append(weight)
            comp_subtype.append(sub_id)
    P = np.clip(np.array(rows), floor, 1.0 - floor)
    cc = np.array(comp_cond)
    M = (np.arange(len(cids))[:, None] == cc[None, :]).astype(float)
    mods = tuple((ci, m.when, m.factor) for ci, c in enumerate(kb.conditions) for m in c.modifiers)
    disposition_rank = np.array([RANK[c.default_disposition] for c in kb.conditions])
    t = kb.red_flags.condition_triage
    triage_levels = tuple(
        (level, thr, disposition_rank >= RANK[level])
        for level, thr in (("emergency", t.emergency.p), ("urgent", t.urgent.p), ("routine", t.routine.p))
    )
    Pa, Qa = P**alpha[None, :], (1.0 - P) ** alpha[None, :]
    history_mask = np.array([f.group == "history" for f in kb.findings])
    all_mask = np.ones(len(fids), dtype=bool)
    history_mask.flags.writeable = all_mask.flags.writeable = False  # shared by askable_mask's callers
    return CompiledModel(
        kb=kb,
        condition_ids=cids,
        finding_ids=fids,
        fidx={f: i for i, f in enumerate(fids)},
        P=P,
        logp=alpha[None, :] * np.log(P),
        log1mp=alpha[None, :] * np.log1p(-P),
        Pa=Pa,
        Qa=Qa,
        PQa=np.concatenate([Pa, Qa], axis=1),
        alpha=alpha,
        sources=tuple(sources),
        contribution_stubs=tuple(
            tuple(
                {"finding": fid, "answer": answer, "contribution": 0.0, "sources": row_src[f]}
                for answer in ("present", "absent")
                for f, fid in enumerate(fids)
            )
            for row_src in sources
        ),
        base_prior=np.array([c.prior.p for c in kb.conditions]),
        modifiers=mods,
        comp_condition=cc,
        comp_weight=np.array(comp_weight),
        comp_subtype=tuple(comp_subtype),
        M=M,
        member=M > 0,
        history_mask=history_mask,
        all_mask=all_mask,
        self_askable=frozenset(f.id for f in kb.findings if f.group == "history"),
        establishes=np.array([
            cids.index(f.accuracy.condition) if f.accuracy is not None and f.accuracy.establishes else -1
            for f in kb.findings
        ]),
        disposition_rank=disposition_rank,
        triage_levels=triage_levels,
        names=tuple(c.name for c in kb.conditions),
        default_dispositions=tuple(c.default_disposition for c in kb.conditions),
        leading_rules=frozenset(r.id for r in kb.rules if r.leads_differential and r.suspected),
        decision_rule_suspects={r.id: r.suspects for r in kb.decision_rules.rules if r.suspects},
        not_excluded_rules=frozenset(r.id for r in kb.rules if r.unless_excluded),
    )


# --------------------------------------------------------------------------- core numbers


def _matches(when: ModifierWhen, age: int | None, sex: str | None, sport: str | None) -> bool:
    if when.sports is not None and sport not in when.sports:
        return False
    if when.sex is not None and sex != when.sex:
        return False
    if when.age_min is not None and (age is None or age < when.age_min):
        return False
    if when.age_max is not None and (age is None or age > when.age_max):
        return False
    return True


def prior(model: CompiledModel, age: int | None, sex: str | None, sport: str | None) -> np.ndarray:
    """Prior over conditions for these demographics (sums to 1); read-only. A pure function of the
    knowledge base and the demographics (at most 121 ages x 3 sexes x the sports), so each one is
    computed once and kept on the compiled model."""
    return demographics(model, age, sex, sport).prior


def demographics(model: CompiledModel, age: int | None, sex: str | None, sport: str | None) -> Demographics:
    """The prior for these demographics and what follows from it alone (component prior, its log, the
    average patient's answer likelihoods), kept on the compiled model like the prior."""
    key = (age, sex, sport)
    out = model.priors.get(key)
    if out is None:
        p = model.base_prior.copy()
        for ci, when, factor in model.modifiers:
            if _matches(when, age, sex, sport):
                p[ci] *= factor
        prior_p = p / p.sum()
        comp_prior = component_prior(model, prior_p)
        base_yes = comp_prior @ model.P
        out = Demographics(prior=prior_p, comp_prior=comp_prior, log_comp_prior=_log(comp_prior),
                           yes_base=model.alpha * np.log(base_yes), no_base=model.alpha * np.log1p(-base_yes))
        for a in (out.prior, out.comp_prior, out.log_comp_prior, out.yes_base, out.no_base):
            a.flags.writeable = False  # shared by every later case with these demographics
        model.priors[key] = out
    return out


def _log(p: np.ndarray) -> np.ndarray:
    out = np.full(p.shape, -np.inf)
    np.log(p, out=out, where=p > 0)
    return out


def _normalise_log(logpost: np.ndarray) -> np.ndarray:
    m = np.max(logpost)
    w = np.exp(logpost - m)
    out: np.ndarray = w / w.sum()
    return out


def component_prior(model: CompiledModel, prior_p: np.ndarray) -> np.ndarray:
    out: np.ndarray = prior_p[model.comp_condition] * model.comp_weight
    return out


def component_posterior(
    model: CompiledModel, prior_p: np.ndarray, present: Iterable[int], absent: Iterable[int]
) -> np.ndarray:
    """Posterior over components (conditions or their subtypes); unknown findings are ignored."""
    pres, abs_ = list(present), list(absent)
    established = established_components(model, pres)
    comp_prior = component_prior(model, prior_p)
    if established.size:
        # equal to the sums below up to a constant shared by every component, with the coexistence rule
        contrib = coexistence(model, contribution_matrix(model, comp_prior, pres, abs_), established, pres)
        return _normalise_log(_log(comp_prior) + contrib.sum(axis=1))
    return _normalise_log(_log(comp_prior) + model.logp[:, pres].sum(axis=1) + model.log1mp[:, abs_].sum(axis=1))


def _component_posterior(
    model: CompiledModel, demo: Demographics, pres: list[int], abs_: list[int], established: np.ndarray
) -> np.ndarray:
    """`component_posterior` from the cached demographics (the same numbers, computed the same way)."""
    if established.size:
        contrib = coexistence(model, _contributions(model, demo, pres, abs_), established, pres)
        return _normalise_log(demo.log_comp_prior + contrib.sum(axis=1))
    return _normalise_log(demo.log_comp_prior + model.logp[:, pres].sum(axis=1) + model.log1mp[:, abs_].sum(axis=1))


def established_components(model: CompiledModel, pres: list[int]) -> np.ndarray:
    """Components whose condition a positive reference-standard test (accuracy.establishes) establishes."""
    conds = model.establishes[pres] if pres else model.establishes[:0]
    conds = conds[conds >= 0]
    if conds.size == 0:
        return conds
    return np.flatnonzero(np.isin(model.comp_condition, conds))


def coexistence(model: CompiledModel, contrib: np.ndarray, rows: np.ndarray, pres: list[int]) -> np.ndarray:
    """`contrib` (from contribution_matrix) with the negative contributions of `rows` set to 0: once a
    reference-standard test establishes a condition, findings that do not fit it are taken as coming
    from a second, coexisting condition rather than as evidence against the established one."""
    out = contrib.copy()
    out[rows] = np.maximum(out[rows], 0.0)
    return out


def posterior(
    model: CompiledModel, prior_p: np.ndarray, present: Iterable[int], absent: Iterable[int]
) -> np.ndarray:
    """Posterior over conditions given finding indices present / absent (others ignored)."""
    out: np.ndarray = model.M @ component_posterior(model, prior_p, present, absent)
    return out


def _entropy(p: np.ndarray, axis: int = 0) -> np.ndarray:
    logs = np.zeros(p.shape)  # p is float64; np.zeros_like costs more on these tiny arrays
    np.log2(p, out=logs, where=p > 0)
    out: np.ndarray = -(p * logs).sum(axis=axis)
    return out


def information_gain(model: CompiledModel, comp_post: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Expected reduction (bits) of the entropy over CONDITIONS from asking each candidate finding,
    given the component posterior `comp_post`."""
    if candidates.size == 0:
        return np.zeros(0)
    n = candidates.size
    p_yes = comp_post @ model.P[:, candidates]  # predictive probability of "present"
    # the component weights after each answer ("present" in the first n columns, "absent" in the last n)
    w = comp_post[:, None] * model.PQa[:, np.concatenate([candidates, candidates + model.P.shape[1]])]
    h = _entropy(model.M @ (w / w.sum(axis=0, keepdims=True)))
    h_after = p_yes * h[:n] + (1 - p_yes) * h[n:]
    out: np.ndarray = np.maximum(_entropy(model.M @ comp_post) - h_after, 0.0)
    return out


def condition_disposition(model: CompiledModel, post: np.ndarray) -> str:
    """Most urgent level whose probability mass (conditions at least that urgent) reaches its threshold."""
    for level, thr, at_least in model.triage_levels:
        if post[at_least].sum() >= thr:
            return level
    return "self_care"


def askable_mask(model: CompiledModel, setting: str) -> np.ndarray:
    """(F,) bool, read-only: the findings that can be answered in `setting`."""
    return model.history_mask if setting == "self" else model.all_mask


# --------------------------------------------------------------------------- questions


def presenting_questions(
    model: CompiledModel, present: Collection[str], answered: Collection[str], comp_post: np.ndarray
) -> list[tuple[str, PresentingSlot]]:
    """The presenting-complaint block (knowledge/data/interview.yaml): for each slot still open (none of
    its findings answered "yes", fewer than its `max_questions` asked; a choice slot: none answered),
    its next question and slot: the first unanswered finding (`order: fixed`, and a choice question,
    which lists them all) or the one most likely to be answered "yes" now (`most_likely`)."""
    out: list[tuple[str, PresentingSlot]] = []
    for slot in model.kb.interview.presenting_complaint:
        if any(f in present for f in slot.findings):
            continue
        limit = 1 if slot.ask == "choice" else slot.max_questions
        if sum(f in answered for f in slot.findings) >= limit:
            continue
        left = [f for f in slot.findings if f not in answered]
        if not left:
            continue
        if slot.order == "fixed" or slot.ask == "choice":
            out.append((left[0], slot))
        else:
            p_yes = (comp_post @ model.P[:, [model.fidx[f] for f in left]]).tolist()
            out.append((left[max(range(len(left)), key=p_yes.__getitem__)], slot))
    return out



def rank_questions(
    model: CompiledModel,
    setting: str,
    comp_post: np.ndarray,
    present: set[str],
    answered: set[str],
    limit: int = 5,
    *,
    probs: dict[str, float] | None = None,
    absent: Collection[str] = (),
) -> list[NextQuestion]:
    """Next questions: the presenting complaint first (interview.yaml), then pending
    red-flag and safety screens (rule order), then by expected information gain.
    `answered` holds every finding already answered (present, absent or "don't know"); `probs` the
    posterior over conditions by id, when the caller has it already."""
    if limit <= 0:
        return []
    kb = model.kb
    if probs is None:
        probs = dict(zip(model.condition_ids, (model.M @ comp_post).tolist(), strict=True))
    screens = triage.pending_screen_questions(
        kb, present, answered, model.self_askable if setting == "self" else None, probs, absent
    )
    open_ = askable_mask(model, setting).copy()
    open_[[model.fidx[f] for f in answered if f in model.fidx]] = False
    absent_set = set(absent)
    for slot in kb.interview.presenting_complaint:
        # "not sure" to a question with several answers: the patient could not say, so its options are not
        # asked again one by one (that goes round in circles of "not sure")
        if slot.ask == "choice" and any(f in answered and f not in present and f not in absent_set
                                        for f in slot.findings) and not any(f in present for f in slot.findings):
            open_[[model.fidx[f] for f in slot.findings]] = False
    candidates = np.flatnonzero(open_)
    gains = information_gain(model, comp_post, candidates)
    gain_of = np.zeros(len(model.finding_ids))  # 0 for findings that are not candidates
    gain_of[candidates] = gains
    out: list[NextQuestion] = []
    presenting = presenting_questions(model, present, answered, comp_post)
    first = [fid for fid, _ in presenting]

    def add(
        fid: str, reason: Literal["presenting_complaint", "red_flag", "information_gain"],
        slot: PresentingSlot | None = None,
    ) -> None:
        f = kb.finding_by_id[fid]
        question = f.question
        choices: tuple[tuple[str, str], ...] = ()
        if slot is not None and slot.ask == "choice":
            # one question for the slot; options already answered "no" are left out
            question = slot.question or f.question
            choices = tuple((c, slot.labels[c]) for c in slot.findings if c == fid or c not in answered)
        out.append(
            NextQuestion(
                finding=fid,
                question=question,
                group=f.group,
                reason=reason,
                expected_information_gain=round(float(gain_of[model.fidx[fid]]), 6),
                choices=choices,
                multiple=slot is not None and slot.multiple,
            )
        )

    for fid, slot in presenting:
        if len(out) >= limit:
            return out
        add(fid, "presenting_complaint", slot)
    for fid in screens:
        if len(out) >= limit:
            return out
        if fid not in first:
            add(fid, "red_flag")
    candidate_list, gain_list = candidates.tolist(), gains.tolist()
    for j in np.argsort(-gains, kind="stable").tolist():
        if len(out) >= limit:
            break
        fid = model.finding_ids[candidate_list[j]]
        if fid in screens or fid in first or gain_list[j] <= 1e-9:
            continue
        add(fid, "information_gain")
    return out


# --------------------------------------------------------------------------- assess


def contribution_matrix(
    model: CompiledModel, comp_prior: np.ndarray, pres: list[int], abs_: list[int]
) -> np.ndarray:
    """(K, len(pres) + len(abs_)) weighted log-likelihood ratios of each answered finding for each
    component, against the prior-weighted average patient."""
    base_yes = comp_prior @ model.P
    return np.concatenate(
        [
            model.logp[:, pres] - model.alpha[pres] * np.log(base_yes[pres]),
            model.log1mp[:, abs_] - model.alpha[abs_] * np.log1p(-base_yes[abs_]),
        ],
        axis=1,
    )


def _contributions(model: CompiledModel, demo: Demographics, pres: list[int], abs_: list[int]) -> np.ndarray:
    """`contribution_matrix` with the average patient's terms read from the cached demographics."""
    return np.concatenate([model.logp[:, pres] - demo.yes_base[pres], model.log1mp[:, abs_] - demo.no_base[abs_]],
                          axis=1)


def explanations(
    model: CompiledModel, components: list[int], contrib: np.ndarray, pres: list[int], abs_: list[int]
) -> tuple[Explanations, list[float]]:
    """The explanation of each of `components` (one row each, from the rows of `contribution_matrix`)
    and its total (the sum of its contributions). Display order per row: `for` strongest first, then
    `against` most negative first."""
    rows = contrib[components]
    orders = np.argsort(-rows, axis=1, kind="stable").tolist()  # one sort for all rows
    n_for = (rows > 0).sum(axis=1).tolist()
    columns = pres + [len(model.finding_ids) + i for i in abs_]  # into contribution_stubs
    stubs = model.contribution_stubs
    ex = Explanations(
        values=rows,
        order=[o[:n] + o[n:][::-1] for o, n in zip(orders, n_for, strict=True)],
        n_for=n_for,
        stub_rows=[stubs[ki] for ki in components],
        columns=columns,
    )
    return ex, rows.sum(axis=1).tolist()


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
        kb, present_set, case.absent, probs, from_conditions, [r.disposition for r in decision_rules if r.disposition]
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
        model, case.setting, comp_post, present_set, done, limit=question_limit, probs=probs, absent=case.absent
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
    "CompiledModel",
    "assess",
    "compiled",
    "component_posterior",
    "condition_disposition",
    "contribution_matrix",
    "explanations",
    "information_gain",
    "posterior",
    "prior",
    "probabilities",
    "rank_questions",
]
