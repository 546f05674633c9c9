"""Explanations: each answered finding's contribution to each component, against the average patient.

contribution(c, f) = alpha * log(P(answer | c) / P(answer | average patient)), where the average
patient is the prior-weighted mixture of components; so for any two conditions
log(post_a / post_b) = log(prior_a / prior_b) + sum(contrib_a) - sum(contrib_b).
"""

from __future__ import annotations

import numpy as np

from hindfoot.assessment.model import CompiledModel, Demographics
from hindfoot.assessment.schemas import Explanations


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
