"""Load the knowledge base (YAML in knowledge/data/) once, and check it against the vocabulary contract.

    kb = load_kb()                         # packaged data, cached; raises KnowledgeBaseError if broken
    kb = load_kb(data_dir=tmp_path)        # another data dir (tests, drafts)
    problems = check_kb(data_dir, vocabulary_path=...)   # list of human-readable problems ([] = valid)

The vocabulary (knowledge/data/vocabulary.yaml, a copy of shared/clinical/vocabulary.yaml) is the
contract: every condition and finding id in it must be covered here; the knowledge base may add more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from hindfoot.knowledge.schemas import (
    DISPOSITION_ORDER,
    Condition,
    ConditionsFile,
    DecisionRulesFile,
    Finding,
    FindingsFile,
    HazardsFile,
    InterviewFile,
    ModelDefaults,
    RedFlagRule,
    RedFlagsFile,
    SourcesFile,
    Vocabulary,
)

DATA_DIR = Path(__file__).resolve().parent / "data"
VOCABULARY_FILE = "vocabulary.yaml"
FILES: dict[str, tuple[str, type[BaseModel]]] = {
    "sources": ("sources.yaml", SourcesFile),
    "conditions": ("conditions.yaml", ConditionsFile),
    "findings": ("findings.yaml", FindingsFile),
    "red_flags": ("red_flags.yaml", RedFlagsFile),
    "hazards": ("hazards.yaml", HazardsFile),
    "interview": ("interview.yaml", InterviewFile),
    "decision_rules": ("decision_rules.yaml", DecisionRulesFile),
}


class KnowledgeBaseError(Exception):
    """The knowledge base is invalid; `problems` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid knowledge base:\n" + "\n".join(f"- {p}" for p in problems))
        self.problems = problems


@dataclass(eq=False)
class KnowledgeBase:
    data_dir: Path
    vocabulary: Vocabulary
    sources: SourcesFile
    defaults: ModelDefaults
    conditions: tuple[Condition, ...]
    findings: tuple[Finding, ...]
    red_flags: RedFlagsFile
    hazards: HazardsFile
    interview: InterviewFile
    decision_rules: DecisionRulesFile
    condition_by_id: dict[str, Condition] = field(init=False)
    finding_by_id: dict[str, Finding] = field(init=False)
    _cache: dict[str, Any] = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.condition_by_id = {c.id: c for c in self.conditions}
        self.finding_by_id = {f.id: f for f in self.findings}

    @cached_property
    def rules(self) -> tuple[RedFlagRule, ...]:
        return tuple(self.red_flags.rules)

    @cached_property
    def screen_rules(self) -> tuple[RedFlagRule, ...]:
        """The rules whose findings are asked first (`screen: true`), in rule-file order."""
        return tuple(r for r in self.rules if r.screen)

    @property
    def sports(self) -> tuple[str, ...]:
        return tuple(self.vocabulary.sports)

    def summary(self) -> dict[str, int]:
        return {
            "conditions": len(self.conditions),
            "findings": len(self.findings),
            "likelihoods": sum(len(c.likelihoods) for c in self.conditions),
            "red_flag_rules": len(self.red_flags.rules),
            "sources": len(self.sources.sources),
        }


def _read_yaml(path: Path, problems: list[str]) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except FileNotFoundError:
        problems.append(f"{path.name}: file not found in {path.parent}")
    except yaml.YAMLError as exc:
        problems.append(f"{path.name}: not valid YAML: {exc}")
    return None


def _parse(path: Path, model: type[BaseModel], problems: list[str]) -> Any:
    raw = _read_yaml(path, problems)
    if raw is None:
        if path.exists() and not problems:
            problems.append(f"{path.name}: empty file")
        return None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            loc = ".".join(str(x) for x in err["loc"])
            value = err.get("input")
            shown = f" (got {value!r})" if isinstance(value, (int, float, str)) else ""
            problems.append(f"{path.name}: {loc}: {err['msg']}{shown}")
        return None


def _loc_name(items: list[Any], index: int) -> str:
    return getattr(items[index], "id", str(index))


# Findings that exclude each other (a symptom cannot have begun under two weeks ago and have lasted over
# three months): `hindfoot kb check` refuses a condition or subtype whose P of the pair sum over 1.
EXCLUSIVE_FINDINGS: tuple[tuple[str, str], ...] = (("duration_under_2_weeks", "duration_over_3_months"),)


def _cross_check(
    vocab: Vocabulary,
    sources: SourcesFile,
    conditions: ConditionsFile,
    findings: FindingsFile,
    red_flags: RedFlagsFile,
    hazards: HazardsFile,
) -> list[str]:
    problems: list[str] = []
    known_sources = set(sources.sources)
    known_hazards = set(hazards.hazards)

    def check_hazard(where: str, hazard: str | None) -> None:
        if hazard is None:
            problems.append(f"{where}: no hazard (every red-flag rule, screen and decision rule must name "
                            "its hazard in hazards.yaml, the hazard log of docs/clinical-safety.md)")
        elif hazard not in known_hazards:
            problems.append(f"{where}: unknown hazard {hazard!r} (not in hazards.yaml)")

    def check_src(where: str, src: list[str]) -> None:
        for key in src:
            if key not in known_sources:
                problems.append(f"{where}: unknown source key {key!r} (not in sources.yaml)")

    # ids: duplicates, vocabulary coverage, groups
    cond_ids = [c.id for c in conditions.conditions]
    find_ids = [f.id for f in findings.findings]
    for kind, ids in (("condition", cond_ids), ("finding", find_ids), ("rule", [r.id for r in red_flags.rules])):
        seen: set[str] = set()
        for item_id in ids:
            if item_id in seen:
                problems.append(f"duplicate {kind} id {item_id!r}")
            seen.add(item_id)
    cond_set, find_set = set(cond_ids), set(find_ids)
    for vc in vocab.conditions:
        if vc.id not in cond_set:
            problems.append(f"conditions.yaml: vocabulary condition {vc.id!r} is missing")
    vocab_groups = vocab.finding_groups()
    by_id = {f.id: f for f in findings.findings}
    for fid, vocab_group in vocab_groups.items():
        if fid not in by_id:
            problems.append(f"findings.yaml: vocabulary finding {fid!r} is missing")
        elif by_id[fid].group != vocab_group:
            problems.append(f"findings.yaml: finding {fid!r} has group {by_id[fid].group!r}, vocabulary says {vocab_group!r}")
    dispositions = set(vocab.dispositions)
    if dispositions != set(DISPOSITION_ORDER):
        problems.append(f"vocabulary dispositions {sorted(dispositions)} differ from the engine's {list(DISPOSITION_ORDER)}")
    sports = set(vocab.sports)

    # defaults
    d = conditions.defaults
    for name in ("unlisted_p", "contradictory_p", "evidence_exponent", "probability_floor"):
        check_src(f"conditions.yaml: defaults.{name}", getattr(d, name).src)
    if d.evidence_exponent.value > 1.0:
        problems.append("conditions.yaml: defaults.evidence_exponent must be in (0, 1]")
    if d.probability_floor.value >= 0.5:
        problems.append("conditions.yaml: defaults.probability_floor must be below 0.5")

    # conditions
    for c in conditions.conditions:
        where = f"conditions.yaml: {c.id}"
        if c.default_disposition not in dispositions:
            problems.append(f"{where}: unknown disposition {c.default_disposition!r}")
        check_src(f"{where}.prior", c.prior.src)
        for i, m in enumerate(c.modifiers):
            check_src(f"{where}.modifiers[{i}]", m.src)
            for s in m.when.sports or []:
                if s not in sports:
                    problems.append(f"{where}.modifiers[{i}]: unknown sport {s!r}")
            if m.when.age_min is not None and m.when.age_max is not None and m.when.age_min > m.when.age_max:
                problems.append(f"{where}.modifiers[{i}]: age_min > age_max")
            if m.when == type(m.when)():
                problems.append(f"{where}.modifiers[{i}]: empty `when` (applies to everyone)")
        for fid, lk in c.likelihoods.items():
            if fid not in find_set:
                problems.append(f"{where}.likelihoods: unknown finding id {fid!r}")
            check_src(f"{where}.likelihoods.{fid}", lk.src)
        if c.subtypes:
            total = sum(st.weight.p for st in c.subtypes)
            if abs(total - 1.0) > 1e-6:
                problems.append(f"{where}.subtypes: weights sum to {total:g}, not 1")
            if len({st.id for st in c.subtypes}) != len(c.subtypes):
                problems.append(f"{where}.subtypes: duplicate subtype id")
        for st in c.subtypes:
            check_src(f"{where}.subtypes.{st.id}.weight", st.weight.src)
            for fid, lk in st.likelihoods.items():
                if fid not in find_set:
                    problems.append(f"{where}.subtypes.{st.id}.likelihoods: unknown finding id {fid!r}")
                check_src(f"{where}.subtypes.{st.id}.likelihoods.{fid}", lk.src)

    # findings that cannot both be present: each condition and subtype must give them probabilities that
    # sum to at most 1 (a subtype overriding one of them must override the other consistently)
    fdefault = {f.id: f.default_p.p for f in findings.findings if f.default_p is not None}
    for c in conditions.conditions:
        for sub in (None, *c.subtypes):
            table = {**c.likelihoods, **(sub.likelihoods if sub is not None else {})}
            for a, b in EXCLUSIVE_FINDINGS:
                pa, pb = (table[x].p if x in table else fdefault.get(x, d.unlisted_p.p) for x in (a, b))
                if pa + pb > 1.0 + 1e-9:
                    where = f"conditions.yaml: {c.id}" + (f".subtypes.{sub.id}" if sub is not None else "")
                    problems.append(f"{where}: P({a}) {pa:g} + P({b}) {pb:g} > 1, but they exclude each other")

    # findings
    for f in findings.findings:
        if f.default_p is not None:
            check_src(f"findings.yaml: {f.id}.default_p", f.default_p.src)
        if f.accuracy is not None:
            acc, where = f.accuracy, f"findings.yaml: {f.id}.accuracy"
            check_src(f"{where}.sensitivity", acc.sensitivity.src)
            check_src(f"{where}.specificity", acc.specificity.src)
            if acc.condition not in cond_set:
                problems.append(f"{where}: unknown condition {acc.condition!r}")
            elif f.id in next(c for c in conditions.conditions if c.id == acc.condition).likelihoods:
                problems.append(f"{where}: {acc.condition} also lists {f.id!r} in conditions.yaml (give it once)")
            if f.default_p is not None:
                problems.append(f"{where}: give either default_p or accuracy (1 - specificity), not both")

    # red flags
    for level in ("emergency", "urgent", "routine"):
        check_src(f"red_flags.yaml: condition_triage.{level}", getattr(red_flags.condition_triage, level).src)
    t = red_flags.condition_triage
    if not (t.emergency.p <= t.urgent.p <= t.routine.p):
        problems.append("red_flags.yaml: condition_triage thresholds must not decrease with lower urgency")
    screen_ids = {sc.id for sc in red_flags.screens}
    for sc in red_flags.screens:
        where = f"red_flags.yaml: screens.{sc.id}"
        check_src(where, sc.src)
        if sc.condition not in cond_set:
            problems.append(f"{where}: unknown condition {sc.condition!r}")
        for i, way in enumerate(sc.excluded_by):
            if not way.absent and not way.present:
                problems.append(f"{where}.excluded_by[{i}]: empty (it would close the screen unanswered)")
            for fid in (*way.absent, *way.present, *way.unless):
                if fid not in find_set:
                    problems.append(f"{where}.excluded_by[{i}]: unknown finding id {fid!r}")
        for fid in sc.ask:
            if fid not in find_set:
                problems.append(f"{where}.ask: unknown finding id {fid!r}")
        check_hazard(where, sc.hazard)
    for r in red_flags.rules:
        where = f"red_flags.yaml: {r.id}"
        check_src(where, r.src)
        check_hazard(where, r.hazard)
        if r.unless_excluded is not None and r.unless_excluded not in screen_ids:
            problems.append(f"{where}: unless_excluded names unknown screen {r.unless_excluded!r}")
        if r.disposition not in dispositions:
            problems.append(f"{where}: unknown disposition {r.disposition!r}")
        if r.suspected is not None and r.suspected not in cond_set:
            problems.append(f"{where}: unknown condition {r.suspected!r}")
        for gi, group in enumerate(r.all_of):
            if not group:
                problems.append(f"{where}: all_of[{gi}] is empty")
            for fid in group:
                if fid not in find_set:
                    problems.append(f"{where}: unknown finding id {fid!r}")
        for fid in r.unless:
            if fid not in find_set:
                problems.append(f"{where}: unknown finding id {fid!r} in unless")
        for key in ("unless_absent", "requires_absent"):
            for fid in getattr(r, key):
                if fid not in find_set:
                    problems.append(f"{where}: unknown finding id {fid!r} in {key}")
        needs_no = set(r.requires_absent)
        if needs_no & set(r.unless_absent) or any(set(g) <= needs_no for g in r.all_of):
            problems.append(f"{where}: can never fire (a finding in requires_absent is also in unless_absent, "
                            "or every finding of an all_of group must be answered no)")
        if any(w.unless for w in r.not_asked_when):
            problems.append(f"{where}: not_asked_when takes absent and present only (unless is for a screen's "
                            "excluded_by)")
        if r.min_probability is not None:
            check_src(f"{where}.min_probability", r.min_probability.src)
            if r.min_probability.condition not in cond_set:
                problems.append(f"{where}: unknown condition {r.min_probability.condition!r}")
    return problems


def _check_decision_rules(parsed: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    finds = {f.id for f in parsed["findings"].findings}
    conds = {c.id for c in parsed["conditions"].conditions}
    sources, hazards = parsed["sources"].sources, parsed["hazards"].hazards
    seen: set[str] = set()
    for r in parsed["decision_rules"].rules:
        where = f"decision_rules.yaml: {r.id}"
        if r.id in seen:
            problems.append(f"duplicate decision rule id {r.id!r}")
        seen.add(r.id)
        if r.hazard is None:
            problems.append(f"{where}: no hazard (every red-flag rule, screen and decision rule must name its "
                            "hazard in hazards.yaml, the hazard log of docs/clinical-safety.md)")
        elif r.hazard not in hazards:
            problems.append(f"{where}: unknown hazard {r.hazard!r} (not in hazards.yaml)")
        for key in r.src:
            if key not in sources:
                problems.append(f"{where}: unknown source key {key!r} (not in sources.yaml)")
        for cid in (r.condition, r.suspects):
            if cid is not None and cid not in conds:
                problems.append(f"{where}: unknown condition {cid!r}")
        named = [c.finding for c in r.criteria if c.finding] + r.applies_when + r.unless
        named += [x for t in r.then for x in (t.present, t.absent) if x]
        for fid in named:
            if fid not in finds:
                problems.append(f"{where}: unknown finding id {fid!r}")
        for i, c in enumerate(r.criteria):
            if (c.finding is None) == (not c.alternative_as_likely):
                problems.append(f"{where}.criteria[{i}]: give exactly one of finding or alternative_as_likely")
        if r.kind == "points" and r.condition not in conds:
            problems.append(f"{where}: a points rule needs a known `condition` (got {r.condition!r})")
        if r.by_count and len(r.by_count) != len(r.criteria) + 1:
            problems.append(f"{where}: by_count needs one probability per possible count (0..{len(r.criteria)})")
    return problems


def _default_vocabulary(data_dir: Path) -> Path:
    own = data_dir / VOCABULARY_FILE
    return own if own.exists() else DATA_DIR / VOCABULARY_FILE


def _build(data_dir: Path, vocabulary_path: Path | None) -> tuple[KnowledgeBase | None, list[str]]:
    problems: list[str] = []
    vpath = vocabulary_path if vocabulary_path is not None else _default_vocabulary(data_dir)
    vocab = _parse(vpath, Vocabulary, problems)
    parsed = {name: _parse(data_dir / fname, model, problems) for name, (fname, model) in FILES.items()}
    if vocab is None or any(v is None for v in parsed.values()):
        return None, problems
    problems += _cross_check(
        vocab, parsed["sources"], parsed["conditions"], parsed["findings"], parsed["red_flags"], parsed["hazards"]
    )
    problems += _check_decision_rules(parsed)
    opening = {f for slot in parsed["interview"].presenting_complaint if not slot.multiple for f in slot.findings}
    for r in parsed["red_flags"].rules:
        if r.screen and not set(r.requires_absent) <= opening:
            # a screen rule's questions are asked once its requires_absent findings are answered "no"
            # (triage.pending_screen_questions); only the presenting complaint, asked before every screen,
            # answers them first (not a place of "where does it hurt?": an unticked place is not a "no")
            problems.append(f"red_flags.yaml: {r.id}: requires_absent of a screen rule must be asked in the "
                            "presenting complaint (interview.yaml), before the screens, as a yes/no or one-answer "
                            "question")
    for slot in parsed["interview"].presenting_complaint:
        if (slot.multiple or slot.exclusive) and (slot.ask != "choice" or (slot.multiple and slot.exclusive)):
            problems.append(f"interview.yaml: {slot.slot}: `multiple` or `exclusive` (not both) belong to a choice question")
        if slot.none_label is not None and (slot.ask != "choice" or slot.multiple):
            problems.append(f"interview.yaml: {slot.slot}: `none_label` belongs to a choice of one answer")
        if slot.ask == "choice" and (not slot.question or set(slot.labels) != set(slot.findings)):
            problems.append(f"interview.yaml: {slot.slot}: a choice question needs `question` and one label per finding")
        for fid in slot.findings:
            f = next((x for x in parsed["findings"].findings if x.id == fid), None)
            if f is None:
                problems.append(f"interview.yaml: {slot.slot}: unknown finding id {fid!r}")
            elif f.group != "history":
                problems.append(f"interview.yaml: {slot.slot}: {fid!r} is not a history finding (a patient could not answer it)")
        for key in slot.src:
            if key not in parsed["sources"].sources:
                problems.append(f"interview.yaml: {slot.slot}: unknown source key {key!r} (not in sources.yaml)")
    if problems:
        return None, problems
    kb = KnowledgeBase(
        data_dir=data_dir,
        vocabulary=vocab,
        sources=parsed["sources"],
        defaults=parsed["conditions"].defaults,
        conditions=tuple(parsed["conditions"].conditions),
        findings=tuple(parsed["findings"].findings),
        red_flags=parsed["red_flags"],
        hazards=parsed["hazards"],
        interview=parsed["interview"],
        decision_rules=parsed["decision_rules"],
    )
    return kb, []


def check_kb(data_dir: Path | str | None = None, vocabulary_path: Path | str | None = None) -> list[str]:
    """Every problem of the knowledge base in `data_dir` (default: the packaged one); [] when valid."""
    d = Path(data_dir) if data_dir is not None else DATA_DIR
    v = Path(vocabulary_path) if vocabulary_path is not None else None
    return _build(d, v)[1]


@lru_cache(maxsize=16)
def _load_cached(data_dir: str, vocabulary_path: str | None) -> KnowledgeBase:
    kb, problems = _build(Path(data_dir), Path(vocabulary_path) if vocabulary_path else None)
    if kb is None:
        raise KnowledgeBaseError(problems)
    return kb


def load_kb(data_dir: Path | str | None = None, vocabulary_path: Path | str | None = None) -> KnowledgeBase:
    """The validated knowledge base (cached per directory). Raises KnowledgeBaseError when invalid."""
    d = Path(data_dir).resolve() if data_dir is not None else DATA_DIR
    v = str(Path(vocabulary_path).resolve()) if vocabulary_path is not None else None
    return _load_cached(str(d), v)


def clear_cache() -> None:
    _load_cached.cache_clear()
