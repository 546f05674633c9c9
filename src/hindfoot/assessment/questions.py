"""Next questions: the presenting-complaint block, pending red-flag screens, then value of information.

Value of information is the expected reduction of the entropy over conditions (bits) from asking a
finding, restricted to what the setting can answer.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal

import numpy as np

from hindfoot.assessment import triage
from hindfoot.assessment.model import CompiledModel
from hindfoot.assessment.schemas import NextQuestion
from hindfoot.knowledge.schemas import PresentingSlot


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


def askable_mask(model: CompiledModel, setting: str) -> np.ndarray:
    """(F,) bool, read-only: the findings that can be answered in `setting`."""
    return model.history_mask if setting == "self" else model.all_mask


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
    age: int | None = None,
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
        kb, present, answered, model.self_askable if setting == "self" else None, probs, absent, age
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
                none_label=slot.none_label if slot is not None and slot.ask == "choice" else None,
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
