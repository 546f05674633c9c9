"""Adaptive interview (pure, functional): state in, state out; the state is JSON-serialisable.

    state = start("self", age=22, sex="female", sport="ballet")
    step = next_step(state)              # step.done / step.question / step.result
    state = answer(state, step.question.finding, "present")   # "present" | "absent" | "unknown"
    ...
    final = result(state)                # AssessmentResult (ranking, disposition, red flags)

    json_state = state.model_dump(mode="json")      # store it anywhere
    state = InterviewState.model_validate(json_state)

Order of questions: pending red-flag screening questions first (knowledge/data/red_flags.yaml, file
order), then the question with the highest expected information gain that the setting can answer
("self" = history findings only). Stop rule (InterviewPolicy): an emergency rule fired; or an urgent
rule fired, no emergency screen is pending and the ranking is clear enough (or 8 asked); or three "not sure"
answers in a row to the screens and the questions chosen by information gain, the last of them one of the
latter; or at least `min_questions` asked, the leading condition
has probability >= `confidence` and the disposition has not changed over the last `stable_for`
answers; or nothing informative is left to ask; or `max_questions` reached (15).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from hindfoot.assessment import engine, rules, triage
from hindfoot.assessment.schemas import Answer, AssessmentResult, Case, NextQuestion, Setting
from hindfoot.errors import InvalidInput
from hindfoot.knowledge.loader import EXCLUSIVE_FINDINGS, KnowledgeBase, load_kb

StopReason = Literal["asking", "emergency", "urgent", "confident", "no_more_questions", "unsure", "max_questions"]

_ALIASES: dict[Any, Answer] = {
    "present": "present", "yes": "present", True: "present",
    "absent": "absent", "no": "absent", False: "absent",
    "unknown": "unknown", "dont_know": "unknown", "don't know": "unknown", "not_sure": "unknown", None: "unknown",
}  # fmt: skip


class InterviewPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_questions: int = Field(default=15, ge=1)
    min_questions: int = Field(default=8, ge=0)
    confidence: float = Field(default=0.80, gt=0, le=1)
    stable_for: int = Field(default=3, ge=1)
    min_information_gain: float = Field(default=0.01, ge=0)  # bits
    # after an urgent red flag: stop once the leading condition is this likely or this many were asked
    urgent_confidence: float = Field(default=0.50, gt=0, le=1)
    urgent_max_questions: int = Field(default=8, ge=1)
    # after the presenting complaint and the screens: stop once this many answers in a row were "not
    # sure" (the patient cannot tell us more; more questions go round in circles)
    unsure_streak: int = Field(default=3, ge=1)


DEFAULT_POLICY = InterviewPolicy()


class InterviewAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    finding: str
    answer: Answer
    # another answer ticked on the same question as the answer before it (a question that allows several,
    # where it hurts): it is not a question of its own
    also: bool = False


class InterviewState(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = "interview"
    setting: Setting = "self"
    age: int | None = Field(default=None, ge=0, le=120)
    sex: Literal["female", "male"] | None = None
    sport: str | None = None
    answers: tuple[InterviewAnswer, ...] = ()

    @property
    def asked(self) -> int:
        """Questions answered (several places ticked on one question count once)."""
        return sum(not a.also for a in self.answers)

    def without_last_question(self) -> InterviewState:
        """The state before the last question was answered (all the answers it was given)."""
        n = len(self.answers)
        while n and self.answers[n - 1].also:
            n -= 1
        return self.model_copy(update={"answers": self.answers[: max(n - 1, 0)]})


@dataclass(slots=True, kw_only=True, frozen=True)
class InterviewStep:
    """Where an interview stands: the next question, or why it stopped, and the assessment so far."""

    done: bool
    reason: StopReason
    question: NextQuestion | None
    asked: int
    result: AssessmentResult


def start(
    setting: Setting = "self",
    *,
    age: int | None = None,
    sex: Literal["female", "male"] | None = None,
    sport: str | None = None,
    id: str = "interview",
    kb: KnowledgeBase | None = None,
) -> InterviewState:
    """A new interview. Demographics are validated like a Case (unknown sport rejected)."""
    kb = kb or load_kb()
    if sport is not None and sport not in kb.sports:
        raise InvalidInput(f"unknown sport {sport!r}", field="sport")
    return InterviewState(id=id, setting=setting, age=age, sex=sex, sport=sport)


def answer(
    state: InterviewState, finding: str, value: Any, kb: KnowledgeBase | None = None, *, also: Collection[str] = ()
) -> InterviewState:
    """A new state with `finding` answered ("present", "absent" or "unknown"/"dont_know"; also
    yes/no/True/False/None). Answering a finding again replaces the earlier answer (it moves to the end,
    unless it was ticked with others on one question). `also`: further answers ticked on the same question
    (one that allows several), each recorded "present"."""
    kb = kb or load_kb()
    for fid, field in ((finding, "finding"), *((f, "also") for f in also)):
        f = kb.finding_by_id.get(fid)
        if f is None:
            raise InvalidInput(f"unknown finding id {fid!r}", field=field)
        if state.setting not in f.settings:
            raise InvalidInput(f"finding {fid!r} cannot be answered in setting {state.setting!r}", field=field)
    try:
        normalised = _ALIASES[value.strip().lower() if isinstance(value, str) else value]
    except (KeyError, TypeError):
        raise InvalidInput(f"unknown answer {value!r} (expected present, absent or unknown)", field="answer") from None
    more = tuple(dict.fromkeys(f for f in also if f != finding))
    if more and normalised != "present":
        raise InvalidInput("further answers go with a chosen answer (present)", field="also")
    if normalised == "present":
        _check_not_excluded(state, finding, kb)
    at = next((i for i, a in enumerate(state.answers) if a.finding == finding), None)
    if not more and at is not None and _ticked_with_others(state.answers, at):
        # one of several answers ticked on one question, changed: it stays where it is (still one question)
        changed = InterviewAnswer(finding=finding, answer=normalised, also=state.answers[at].also)
        return state.model_copy(update={"answers": (*state.answers[:at], changed, *state.answers[at + 1:])})
    kept = tuple(a for a in state.answers if a.finding != finding and a.finding not in more)
    new = (InterviewAnswer(finding=finding, answer=normalised),
           *(InterviewAnswer(finding=f, answer="present", also=True) for f in more))
    return state.model_copy(update={"answers": (*kept, *new)})


def _check_not_excluded(state: InterviewState, finding: str, kb: KnowledgeBase) -> None:
    """Answers that exclude each other (how it started; a duration under two weeks or over three months)
    are not both "yes": the second would silently lower urgency (it is in the first one's rules' `unless`)."""
    groups = [s.findings for s in kb.interview.presenting_complaint if s.exclusive] + [list(p) for p in EXCLUSIVE_FINDINGS]
    yes = {a.finding for a in state.answers if a.answer == "present" and a.finding != finding}
    for group in groups:
        clash = [f for f in group if f in yes] if finding in group else []
        if clash:
            raise InvalidInput(f"{finding!r} and {clash[0]!r} (answered yes) exclude each other: change that answer "
                               "first", field="finding")


def _ticked_with_others(answers: tuple[InterviewAnswer, ...], i: int) -> bool:
    return answers[i].also or (i + 1 < len(answers) and answers[i + 1].also)


def _implied_absent(answers: tuple[InterviewAnswer, ...]) -> list[str]:
    """Bins of one quantity (`EXCLUSIVE_FINDINGS`: under two weeks, over three months) not answered, whose
    other bin was answered "yes": "no" (the duration question picks one bin and says the patient is not in
    the other, as two yes / no questions did before it was one question)."""
    present = {a.finding for a in answers if a.answer == "present"}
    answered = {a.finding for a in answers}
    return [f for a, b in EXCLUSIVE_FINDINGS for f, other in ((b, a), (a, b))
            if other in present and f not in answered]


def to_case(state: InterviewState, kb: KnowledgeBase | None = None) -> Case:
    """The Case of the answers so far ("unknown" answers are left out)."""
    return Case.model_validate(
        {
            "id": state.id,
            "setting": state.setting,
            "age": state.age,
            "sex": state.sex,
            "sport": state.sport,
            "present": [a.finding for a in state.answers if a.answer == "present"],
            "absent": [a.finding for a in state.answers if a.answer == "absent"] + _implied_absent(state.answers),
        },
        context={"kb": kb or load_kb()},
    )


def result(state: InterviewState, kb: KnowledgeBase | None = None) -> AssessmentResult:
    """The assessment of the answers so far (ranking, disposition, red flags, next questions)."""
    kb = kb or load_kb()
    return engine.assess(to_case(state, kb), kb, answered=[a.finding for a in state.answers])


def _snapshot(model: engine.CompiledModel, state: InterviewState, upto: int) -> tuple[str, float]:
    """(disposition, leading probability) after the first `upto` answers (fast path)."""
    answers = state.answers[:upto]
    present = {a.finding for a in answers if a.answer == "present"}
    absent = [a.finding for a in answers if a.answer == "absent"] + _implied_absent(answers)
    pres = [model.fidx[a.finding] for a in answers if a.answer == "present"]
    abs_ = [model.fidx[f] for f in absent]
    post = engine.posterior(model, engine.prior(model, state.age, state.sex, state.sport), pres, abs_)
    probs = dict(zip(model.condition_ids, post.tolist(), strict=True))
    from_rules = [r.disposition for r in rules.evaluate(model.kb, present, absent, state.age, probs) if r.disposition]
    disp = triage.decide(model.kb, present, absent, probs, engine.condition_disposition(model, post), from_rules,
                         age=state.age)[0]
    return disp, float(np.max(post))


def _unsure_streak(state: InterviewState, kb: KnowledgeBase) -> int:
    """How many of the latest answers to the safety screens and to questions chosen by information gain
    (the presenting complaint is not counted) were "not sure", in a row; 0 unless the last answer was to a
    question chosen by information gain (so at least one is asked after the screens). A patient who could
    not answer the screens either cannot tell us more: three "not sure" in a row across both end it
    (issue 10, interview pass: the screens' "not sure" answers did not count, and three more questions
    were asked after them, each "not sure")."""
    presenting = {f for s in kb.interview.presenting_complaint for f in s.findings}
    if not state.answers or state.answers[-1].finding in presenting | triage.screening_findings(kb):
        return 0
    n = 0
    for a in reversed(state.answers):
        if a.finding in presenting:
            continue
        if a.answer != "unknown":
            break
        n += 1
    return n


def _question_that_could_lift_the_emergency(
    state: InterviewState, current: AssessmentResult, kb: KnowledgeBase, model: engine.CompiledModel
) -> NextQuestion | None:
    """When every emergency rule that fired stands only because one of its `unless_absent` findings is not
    yet answered (a child who cannot bear weight, fever not asked), that question, asked once before the
    interview ends: "no" lowers the advice to what the rest supports, "not sure" keeps the emergency."""
    by_id = {r.id: r for r in kb.rules}
    answered = {a.finding for a in state.answers}
    askable = model.self_askable if state.setting == "self" else None
    pick: str | None = None
    for fired in current.red_flags:
        if fired.disposition != "emergency":
            continue
        rule = by_id.get(fired.rule)
        open_ = [f for f in (rule.unless_absent if rule else ())
                 if f not in answered and (askable is None or f in askable)]
        if not open_:
            return None  # an emergency that no answer can lift
        pick = pick or open_[0]
    if pick is None:
        return None
    f = kb.finding_by_id[pick]
    return NextQuestion(finding=pick, question=f.question, group=f.group, reason="red_flag",
                        expected_information_gain=0.0)


def next_step(
    state: InterviewState, kb: KnowledgeBase | None = None, policy: InterviewPolicy = DEFAULT_POLICY
) -> InterviewStep:
    """The next question, or done=True with the reason and the final assessment."""
    kb = kb or load_kb()
    model = engine.compiled(kb)
    current = result(state, kb)
    asked = state.asked

    def finish(reason: StopReason) -> InterviewStep:
        return InterviewStep(done=True, reason=reason, question=None, asked=asked, result=current)

    fired_levels = {r.disposition for r in current.red_flags}
    if "emergency" in fired_levels:
        lift = _question_that_could_lift_the_emergency(state, current, kb, model)
        if lift is None or asked >= policy.max_questions:
            return finish("emergency")
        return InterviewStep(done=False, reason="asking", question=lift, asked=asked, result=current)
    if asked >= policy.max_questions:
        return finish("max_questions")
    questions = current.next_questions
    if questions and questions[0].reason in ("presenting_complaint", "red_flag"):
        return InterviewStep(done=False, reason="asking", question=questions[0], asked=asked, result=current)
    if "urgent" in fired_levels and (
        current.top.probability >= policy.urgent_confidence or asked >= policy.urgent_max_questions
    ):
        return finish("urgent")
    if asked >= policy.min_questions and current.top.probability >= policy.confidence:
        n_answers = len(state.answers)
        window = [_snapshot(model, state, n)[0] for n in range(max(n_answers - policy.stable_for, 0), n_answers + 1)]
        if len(set(window)) == 1:
            return finish("confident")
    if not questions or questions[0].expected_information_gain < policy.min_information_gain:
        return finish("no_more_questions")
    if _unsure_streak(state, kb) >= policy.unsure_streak:
        return finish("unsure")
    return InterviewStep(done=False, reason="asking", question=questions[0], asked=asked, result=current)


def simulate(
    case: Case,
    kb: KnowledgeBase | None = None,
    policy: InterviewPolicy = DEFAULT_POLICY,
    respond: Callable[[str], Answer] | None = None,
) -> tuple[InterviewState, InterviewStep, list[str]]:
    """Run an interview answering from `case` (present / absent / otherwise unknown; a finding that
    excludes a present one, `EXCLUSIVE_FINDINGS`, is absent), or from
    `respond(finding_id)`. Returns the final state, the final step and the questions asked in order."""
    kb = kb or load_kb()
    present, absent = set(case.present), set(case.absent)
    for a, b in EXCLUSIVE_FINDINGS:
        # bins of one quantity (durations): the case's bin implies "no" to the other, as the patient would
        # answer ("more than three months?" "no", when the pain began under two weeks ago)
        absent |= {b} if a in present else {a} if b in present else set()
    respond = respond or (lambda f: "present" if f in present else "absent" if f in absent else "unknown")
    state = start(case.setting, age=case.age, sex=case.sex, sport=case.sport, id=case.id, kb=kb)
    asked: list[str] = []
    while True:
        step = next_step(state, kb, policy)
        if step.done or step.question is None:
            return state, step, asked
        picks = [f for f, _ in step.question.choices if respond(f) == "present"]
        if picks:  # a choice question: the patient picks the option that applies (ticks all that do)
            asked.append(picks[0])
            state = answer(state, picks[0], "present", kb, also=picks[1:] if step.question.multiple else ())
        else:  # a yes / no question, or no option applies: "no" or "not sure" to the first one
            asked.append(step.question.finding)
            state = answer(state, step.question.finding, respond(step.question.finding), kb)
