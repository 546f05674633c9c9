"""Ranking: the posterior over components and conditions, and the triage the conditions alone suggest.

Naive Bayes with damped evidence (see hindfoot.assessment.engine), with the coexistence rule once a
reference-standard test establishes a condition.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from hindfoot.assessment.explain import _contributions, contribution_matrix
from hindfoot.assessment.model import CompiledModel, Demographics, _log, component_prior


def _normalise_log(logpost: np.ndarray) -> np.ndarray:
    m = np.max(logpost)
    w = np.exp(logpost - m)
    out: np.ndarray = w / w.sum()
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


def condition_disposition(model: CompiledModel, post: np.ndarray) -> str:
    """Most urgent level whose probability mass (conditions at least that urgent) reaches its threshold."""
    for level, thr, at_least in model.triage_levels:
        if post[at_least].sum() >= thr:
            return level
    return "self_care"
