"""The compiled model of a knowledge base and its per-demographics prior cache.

`compiled(kb)` turns the knowledge base into NumPy matrices once per KB (P(finding | component), its
damped logs, sources, subtype mixture, triage masks); `demographics(model, age, sex, sport)` computes,
once per (age, sex, sport), the prior and what follows from it alone. Pure: no I/O of its own (the
packaged knowledge base is loaded once by hindfoot.knowledge.loader). The model itself is described in
hindfoot.assessment.engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hindfoot.assessment import triage
from hindfoot.knowledge.loader import KnowledgeBase, load_kb
from hindfoot.knowledge.schemas import Disposition, ModifierWhen, SourcedP

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


def component_prior(model: CompiledModel, prior_p: np.ndarray) -> np.ndarray:
    out: np.ndarray = prior_p[model.comp_condition] * model.comp_weight
    return out
