"""`hindfoot assess FILE` and `hindfoot eval FILE`: run the decision support on case files.

Case format: shared/clinical/README.md (one JSON object, or a JSON array of them). `expected` and
`note` are ignored by `assess`; `eval` needs `expected`.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from hindfoot.assessment import probe
from hindfoot.assessment.engine import assess
from hindfoot.assessment.interview import simulate
from hindfoot.assessment.schemas import (
    AssessmentResult,
    Case,
    CaseError,
    Expected,
    describe_validation_error,
    parse_case,
    result_json,
)
from hindfoot.assessment.triage import RANK
from hindfoot.cli.errors import fail
from hindfoot.knowledge.loader import KnowledgeBase, KnowledgeBaseError, load_kb


def _read_cases(path: Path) -> tuple[list[Any], bool]:
    """The raw case objects of `path` and whether the file held a single object."""
    if not path.is_file():
        fail(f"file not found: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        fail(f"{path}: not valid JSON: {exc}")
    if isinstance(data, dict):
        return [data], True
    if isinstance(data, list):
        if not data:
            fail(f"{path}: empty case list")
        return data, False
    fail(f"{path}: expected a case object or an array of cases, got {type(data).__name__}")


def _kb() -> KnowledgeBase:
    try:
        return load_kb()
    except KnowledgeBaseError as exc:  # pragma: no cover - the packaged KB is tested
        fail(str(exc))


def _parse_all(raw: list[Any], kb: KnowledgeBase) -> list[Case]:
    cases: list[Case] = []
    problems: list[str] = []
    for i, item in enumerate(raw):
        try:
            cases.append(parse_case(item, kb))
        except CaseError as exc:
            problems.append(f"case #{i + 1}: {exc}")
    if problems:
        fail("; ".join(problems))
    return cases


def assess_command(
    file: Annotated[Path, typer.Argument(help="JSON file: one case object or an array of cases.")],
) -> None:
    """Rank every condition for each case, with explanation, disposition, red flags and next questions."""
    raw, single = _read_cases(file)
    kb = _kb()
    results = [result_json(assess(c, kb)) for c in _parse_all(raw, kb)]
    typer.echo(json.dumps(results[0] if single else results, indent=2, ensure_ascii=False))


# --------------------------------------------------------------------------- eval


def _interviewed(case: Case, kb: KnowledgeBase) -> tuple[AssessmentResult, int]:
    """The symptom check run on `case`, answered from it (present = yes, absent = no, else not sure):
    its final assessment and the number of questions asked."""
    _state, step, asked = simulate(case, kb)
    return step.result, len(asked)


def evaluate(
    pairs: list[tuple[Case, Expected]], kb: KnowledgeBase, *, interview: bool = False,
    progress: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Scores of the engine on cases with expected answers (see shared/clinical/README.md).

    With `interview`, only the self-assessment cases are scored, each through the symptom check
    answered from the case; the scores then include the questions asked."""
    if interview:
        pairs = [(c, e) for c, e in pairs if c.setting == "self"]
    n = len(pairs)
    top1 = top3 = disp = 0
    brier = 0.0
    under: list[dict[str, str]] = []
    over: list[dict[str, str]] = []
    low_acuity = 0
    questions: list[int] = []
    misses: list[dict[str, Any]] = []
    confusion: dict[str, dict[str, int]] = {}
    for case, exp in pairs:
        if interview:
            r, asked = _interviewed(case, kb)
            questions.append(asked)
        else:
            r = assess(case, kb, explain=False, question_limit=0)
        if progress is not None:
            progress()
        ranked = [c.condition for c in r.ranking]
        ok1 = ranked[0] == exp.diagnosis or ranked[0] in exp.acceptable
        ok3 = exp.diagnosis in ranked[:3]
        okd = r.disposition == exp.disposition
        top1 += ok1
        top3 += ok3
        disp += okd
        brier += sum((c.probability - (1.0 if c.condition == exp.diagnosis else 0.0)) ** 2 for c in r.ranking)
        if RANK[r.disposition] < RANK[exp.disposition]:
            under.append({"id": case.id, "expected": exp.disposition, "advised": r.disposition})
        if exp.disposition in ("routine", "self_care"):
            low_acuity += 1
            if r.disposition in ("urgent", "emergency"):
                over.append({"id": case.id, "expected": exp.disposition, "advised": r.disposition})
        if not ok1:
            confusion.setdefault(exp.diagnosis, {}).setdefault(ranked[0], 0)
            confusion[exp.diagnosis][ranked[0]] += 1
        if not (ok1 and ok3 and okd):
            misses.append(
                {
                    "id": case.id,
                    "expected": exp.diagnosis,
                    "predicted": ranked[0],
                    "probability": round(r.ranking[0].probability, 4),
                    "expected_disposition": exp.disposition,
                    "disposition": r.disposition,
                }
            )
    unsafe = [u for u in under if u["expected"] in ("emergency", "urgent")]
    if n == 0:
        fail("no cases to score" + (" (no self-assessment cases for --interview)" if interview else ""))
    return {
        "mode": "interview" if interview else "assess",
        "cases": n,
        "top1": round(top1 / n, 4),
        "top3": round(top3 / n, 4),
        "disposition_exact": round(disp / n, 4),
        "under_triage": len(under),
        "under_triage_cases": under,
        "unsafe_under_triage": len(unsafe),
        # of the routine and self-care cases, the share advised urgent or emergency care
        "over_triage": round(len(over) / low_acuity, 4) if low_acuity else 0.0,
        "over_triage_cases": over,
        "brier": round(brier / n, 4),
        **({"questions": {"max": max(questions), "median": statistics.median(questions),
                          "mean": round(statistics.fmean(questions), 2)}} if questions else {}),
        "confusion": [
            {"expected": e, "predicted": p, "count": k} for e, row in sorted(confusion.items()) for p, k in sorted(row.items())
        ],
        "misses": misses,
    }


# The targets of issue 10, per kind of case set. Generated vignettes are written from the same evidence
# tables as the knowledge base, so they are held higher; published real cases are reports of real
# patients, often sparse. Safety targets (no under-triage, over-triage <= 15%, questions) are the same.
TARGETS: dict[str, dict[str, str]] = {
    "vignettes": {"top1": ">= 95%", "top3": "100%", "disposition_exact": ">= 95%"},
    "published": {"top1": ">= 85%", "top3": ">= 95%", "disposition_exact": ">= 85%"},
}


KIND_LABEL = {"vignettes": "generated vignettes", "published": "published case reports"}


def case_set_kind(raw: list[Any]) -> str:
    """"published" when every case's note cites its source (a web address or a DOI), as the published
    case reports of shared/clinical/cases-published.json do; otherwise "vignettes" (generated cases)."""
    def cites(item: Any) -> bool:
        note = item.get("note", "") if isinstance(item, dict) else ""
        return isinstance(note, str) and bool(re.search(r"https?://|doi:|10\.\d{4,}/", note))

    return "published" if raw and all(cites(item) for item in raw) else "vignettes"


def eval_command(
    file: Annotated[Path, typer.Argument(help="JSON array (or object) of cases carrying `expected`.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the scores as JSON.")] = False,
    targets: Annotated[str, typer.Option(
        "--targets", help="Which targets to print: published (real case reports: top-1 >= 85%, top-3 >= 95%, "
        "disposition >= 85%), vignettes (generated: 95%, 100%, 95%) or auto (published when every case's "
        "note cites its source).",
    )] = "auto",
    interview: Annotated[bool, typer.Option(
        "--interview", help="Run the symptom check on each self-assessment case, answered from the case "
        "(present = yes, absent = no, anything else = not sure), and score its result.",
    )] = False,
    probe_budget: Annotated[int | None, typer.Option(
        "--probe", min=0, max=1000, help="Safety probe instead of scores: derive degraded histories of every "
        "urgent and emergency case (a few findings, the rest not sure; no duration, onset, injury or age; this "
        "many seeded random subsets per case) and list each one advised below its floor by assess or the "
        "symptom check (docs/clinical-safety.md, \"Safety probe\"). Exits 1 when any is.",
    )] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the probe's random subsets.")] = 0,
) -> None:
    """Score the decision support: top-1, top-3, disposition, under- and over-triage, confusion, Brier
    score (and, with --interview, the questions asked); or, with --probe, probe its safety."""
    if targets not in ("auto", *TARGETS):
        fail(f"--targets must be auto, published or vignettes, not {targets!r}")
    raw, _single = _read_cases(file)
    kind = case_set_kind(raw) if targets == "auto" else targets
    kb = _kb()
    pairs: list[tuple[Case, Expected]] = []
    problems: list[str] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or "expected" not in item:
            problems.append(f"case #{i + 1}: missing `expected`")
            continue
        try:
            exp = Expected.model_validate(item["expected"])
            for cid in (exp.diagnosis, *exp.acceptable):
                if cid not in kb.condition_by_id:
                    raise CaseError(f"unknown condition id {cid!r} in expected")
            pairs.append((parse_case(item, kb), exp))
        except ValidationError as exc:
            problems.append(f"case #{i + 1} ({item.get('id', '?')}): expected: {describe_validation_error(exc)}")
        except CaseError as exc:
            problems.append(f"case #{i + 1}: {exc}")
    if problems:
        fail("; ".join(problems))
    if probe_budget is not None:
        _probe(pairs, kb, probe_budget, seed, as_json)
        return
    if interview:
        with Progress(TextColumn("symptom checks"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      transient=True, disable=as_json, console=Console(stderr=True)) as bar:
            task = bar.add_task("interviews", total=sum(c.setting == "self" for c, _ in pairs))
            scores = evaluate(pairs, kb, interview=True, progress=lambda: bar.advance(task))
    else:
        scores = evaluate(pairs, kb)
    scores["targets"] = {"set": kind, **TARGETS[kind]}
    if as_json:
        typer.echo(json.dumps(scores, indent=2))
        return
    console = Console()
    how = "symptom check answered from each self-assessment case" if interview else "decision support"
    target = TARGETS[kind]
    table = Table(title=f"{how} on {file.name} ({scores['cases']} cases; targets for {KIND_LABEL[kind]})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_row("top-1 (diagnosis or acceptable)", f"{scores['top1']:.1%}", target["top1"])
    table.add_row("top-3", f"{scores['top3']:.1%}", target["top3"])
    table.add_row("disposition exact", f"{scores['disposition_exact']:.1%}", target["disposition_exact"])
    table.add_row("under-triage (all)", str(scores["under_triage"]), "")
    table.add_row("under-triage of emergency/urgent", str(scores["unsafe_under_triage"]), "0")
    table.add_row("over-triage (routine/self-care advised urgent or emergency)", f"{scores['over_triage']:.1%}",
                  "<= 15%")
    if "questions" in scores:
        q = scores["questions"]
        table.add_row("questions asked (median / max)", f"{q['median']:g} / {q['max']}", "<= 10 / <= 15")
    table.add_row("Brier score (multi-class, lower is better)", f"{scores['brier']:.4f}", "")
    console.print(table)
    if scores["under_triage_cases"]:
        console.print("under-triaged: " + ", ".join(f"{u['id']} ({u['advised']} < {u['expected']})" for u in scores["under_triage_cases"]))
    if scores["misses"]:
        miss = Table(title="Misses")
        for col in ("id", "expected", "predicted", "p", "expected disposition", "disposition"):
            miss.add_column(col)
        for m in scores["misses"]:
            miss.add_row(
                m["id"], m["expected"], m["predicted"], f"{m['probability']:.2f}", m["expected_disposition"], m["disposition"]
            )
        console.print(miss)
    if scores["confusion"]:
        console.print("confusion (expected -> predicted top-1): " + "; ".join(
            f"{c['expected']} -> {c['predicted']} x{c['count']}" for c in scores["confusion"]
        ))


def _probe(pairs: list[tuple[Case, Expected]], kb: KnowledgeBase, budget: int, seed: int, as_json: bool) -> None:
    variants = probe.probe_variants(pairs, kb, seed=seed, random_subsets=budget)
    with Progress(TextColumn("safety probe"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  transient=True, disable=as_json, console=Console(stderr=True)) as bar:
        task = bar.add_task("variants", total=len(variants))

        def counted(vs: list[probe.Variant]) -> Iterator[probe.Variant]:
            for v in vs:
                yield v
                bar.advance(task)

        failures = list(probe.check(counted(variants), lambda c: assess(c, kb, explain=False, question_limit=0),
                                    _interviewed_case(kb)))
    rows = [{"variant": f.variant.id, "kind": f.variant.kind, "mode": f.mode, "floor": f.floor,
             "advised": f.advised, "top": f.top, "age": f.variant.case.age, "present": list(f.variant.case.present),
             "absent": list(f.variant.case.absent), "questions": f.questions} for f in failures]
    if as_json:
        typer.echo(json.dumps({"variants": len(variants), "cases": len({v.source for v in variants}),
                               "seed": seed, "random_subsets": budget, "failures": rows}, indent=2))
    else:
        console = Console()
        console.print(f"safety probe: {len(variants)} degraded histories of {len({v.source for v in variants})} "
                      f"urgent or emergency cases (seed {seed}, {budget} random subsets each), assess and "
                      f"symptom check: {len(rows)} below their floor")
        if rows:
            table = Table(title="Below the floor")
            for col in ("variant", "mode", "floor", "advised", "top", "present", "absent"):
                table.add_column(col)
            for f in failures:
                table.add_row(f.variant.id, f.mode, f.floor, f.advised, f.top, ", ".join(f.variant.case.present),
                              ", ".join(f.variant.case.absent))
            console.print(table)
    if rows:
        raise typer.Exit(1)


def _interviewed_case(kb: KnowledgeBase) -> Callable[[Case], tuple[AssessmentResult, int]]:
    return lambda c: _interviewed(c, kb)


interviews_app = typer.Typer(help="Symptom checks kept on the server.", no_args_is_help=True)


@interviews_app.command("purge")
def purge_command(
    days: Annotated[int | None, typer.Option(
        "--days", min=1, help="Delete anonymous checks untouched for this many days (default: HINDFOOT_ANONYMOUS_CHECK_DAYS).",
    )] = None,
) -> None:
    """Delete anonymous symptom checks nobody has touched for a while (safe to run daily)."""
    from datetime import timedelta

    from rich.console import Console

    from hindfoot.assessment import service
    from hindfoot.db.base import utcnow
    from hindfoot.db.engine import make_engine, make_sessionmaker
    from hindfoot.db.job_lock import job_lock
    from hindfoot.db.session import unit_of_work
    from hindfoot.settings import get_settings

    settings = get_settings()
    keep = days if days is not None else settings.anonymous_check_days
    engine = make_engine(settings.database_url)
    try:
        with job_lock(engine, "interviews-purge") as mine:
            if not mine:
                Console().print("another `hindfoot interviews purge` is running on this database: nothing done.")
                return
            with unit_of_work(make_sessionmaker(engine)) as db:
                deleted = service.purge_anonymous_interviews(db, untouched_since=utcnow() - timedelta(days=keep))
    finally:
        engine.dispose()
    Console().print(f"{deleted} anonymous symptom check(s) untouched for {keep}+ days deleted.")


def register(app: typer.Typer) -> None:
    app.command("assess")(assess_command)
    app.command("eval")(eval_command)
    app.add_typer(interviews_app, name="interviews")
