"""A registry-sized synthetic cohort for the outcomes dashboard: `hindfoot demo --patients N`.

Patients join the demo organisation (so the dashboard shows them) with an episode, a surgery or a
conservative course, and questionnaires at the time points already due, completed less often as
follow-up lengthens. Every stored score is the exact score of the stored answers (answer sets are
built and scored once per severity level, then reused). Deterministic for a given seed and
`today` (and the patients already there). The registry summary rows (`registry_score`,
`registry_episode`) are written alongside, exactly as `refresh_registry` would derive them, and the
load adds its share of the dashboard totals (`registry_total_*`) in the same transaction.

Two writers, the same rules, different draws (the two backends do not get the same cohort for a seed):
- PostgreSQL (psycopg): the server generates the rows itself, set-based, in ONE transaction
  (`registry_pg`: INSERT ... SELECT over generate_series, hash-based draws, indexes and keys set
  aside and rebuilt, ANALYZE inside it); a failure leaves nothing;
- elsewhere (SQLite, another PostgreSQL driver) and in a dry run anywhere (the benches' baseline):
  rows are built here as tuples by a seeded `random.Random` and written one transaction per batch
  with executemany (a dry run writes nothing).
No names, emails or phone numbers: registry patients cannot sign in and get no reminders.
"""

from __future__ import annotations

import bisect
import itertools
import queue
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import JSON, Connection, Engine, Table, Uuid, func, insert, select

from hindfoot.db.maintenance import analyze
from hindfoot.db.models import (
    EpisodeOfCare,
    Observation,
    Organization,
    PathwayEvent,
    Patient,
    Practitioner,
    Procedure,
    Questionnaire,
    QuestionnaireResponse,
    RegistryEpisode,
    RegistryScore,
)
from hindfoot.db.models.patient import search_text_of
from hindfoot.db.models.procedure import PROCEDURES
from hindfoot.db.models.registry import (
    EPISODE_COLUMNS,
    REGISTRY_TABLES,
    REGISTRY_TIMEPOINTS,
    RETURNED_PREVIOUS,
    SCORE_COLUMNS,
)
from hindfoot.db.registry_sync import add_totals, utc_day
from hindfoot.outcomes import scoring, tallies
from hindfoot.outcomes.due import add_months

__all__ = ["RegistryResult", "add_registry_patients"]

SPORTS = (("ballet", 22), ("contemporary_dance", 8), ("football", 25), ("rugby", 8), ("cricket_fast_bowling", 5),
          ("gymnastics", 6), ("running", 12), ("basketball", 5), ("tennis", 5), ("other_sport", 4))
SURGERIES = (("posterior_arthroscopic_excision", 70), ("posterior_arthroscopic_debridement", 20), ("open_excision", 10))
COMPLICATIONS = ("sural nerve numbness", "superficial portal infection", "FHL tendon irritation",
                 "delayed wound healing")
FOLLOW_UPS = (("6w", "w", 6, 0.32, 0.85), ("3m", "m", 3, 0.16, 0.75), ("6m", "m", 6, 0.08, 0.65),
              ("12m", "m", 12, 0.05, 0.55))
SCORE_CODE = {("faos", k): f"faos.{k}" for k in scoring.FAOS_SUBSCALES} | {
    ("faam", "adl"): "faam.adl", ("faam", "sports"): "faam.sports", ("pain", "pain"): "pain.nrs"}
RETURNS = (("returned_previous_level", 70), ("returned_higher_level", 10), ("returned_lower_level", 20))
LEVELS_OF_PLAY = ("recreational", "competitive", "professional")
LEVELS = 21  # severity buckets 0.00, 0.05, ... 1.00


@dataclass
class RegistryResult:
    patients: int
    rows: int
    seconds: float


def _answer_sets(rng: random.Random) -> dict[str, list[list[tuple[dict[str, Any], dict[str, float]]]]]:
    """Per instrument and severity bucket, three (answers, exact scores) variants."""
    out: dict[str, list[list[tuple[dict[str, Any], dict[str, float]]]]] = {"faos": [], "faam": [], "pain": []}
    for level in range(LEVELS):
        sev = level / (LEVELS - 1)
        for code in out:
            variants = []
            for _ in range(3):
                def item(s: float) -> int:
                    return max(0, min(4, round(4 * s + rng.gauss(0, 0.5))))
                if code == "faos":
                    answers: dict[str, Any] = {i: item(sev) for ids in scoring.FAOS_SUBSCALES.values() for i in ids}
                elif code == "faam":
                    answers = {i: 4 - item(sev) for ids in scoring.FAAM_SUBSCALES.values() for i in ids}
                    if rng.random() < 0.3:
                        answers["SPORTS8"] = "na"
                else:
                    answers = {"PAIN": max(0, min(10, round(10 * sev + rng.gauss(0, 0.6))))}
                scores = {k: v for k, v in scoring.score(code, answers)["scores"].items() if v is not None}
                variants.append((answers, scores))
            out[code].append(variants)
    return out


class _Weighted:
    """A weighted choice by bisection over cumulative weights (what `random.choices` does, without
    rebuilding the lists on every call)."""

    def __init__(self, weighted: tuple[tuple[str, int], ...]) -> None:
        self.names = [w[0] for w in weighted]
        self.cum = list(itertools.accumulate(w[1] for w in weighted))
        self.total = float(self.cum[-1])

    def pick(self, rng: random.Random) -> str:
        return self.names[bisect.bisect(self.cum, rng.random() * self.total)]


def _id_maker(rng: random.Random, dialect: str) -> tuple[Callable[[], Any], Callable[[uuid.UUID], Any]]:
    """(a new id, an existing id) in the form each backend's writer takes a UUID: SQLite the 32 hex
    digits SQLAlchemy stores for a Uuid, others a `uuid.UUID`.

    New ids share a random 64-bit head per run (version-4 and variant bits set) followed by a
    counter, so one run's ids are ascending: every index on an id column grows at its right edge
    instead of touching a random page per row (a second run gets another random head)."""
    head = (rng.getrandbits(64) & ~(0xF << 12)) | (4 << 12)
    counter = itertools.count(1)
    if dialect != "sqlite":
        top = head << 64 | 0x8000 << 48
        return (lambda: uuid.UUID(int=top | next(counter))), (lambda u: u)
    text = f"{head:016x}8000"
    return (lambda: f"{text}{next(counter):012x}"), (lambda u: u.hex)


def add_registry_patients(
    engine: Engine, n: int, *, today: date, seed: int = 20260101, batch: int = 5000,
    progress: Callable[[int], None] | None = None, dry_run: bool = False, timings: dict[str, float] | None = None,
) -> RegistryResult:
    """Add `n` registry patients to the demo organisation (which must exist). `dry_run` builds the
    rows and writes nothing (what the row building alone costs: the benchmarks' baseline)."""
    import time as clock

    started = clock.perf_counter()
    rng = random.Random(seed)
    with engine.connect() as conn:
        org_id = conn.scalar(select(Organization.id).where(Organization.is_demo).limit(1))
        if org_id is None:
            raise RuntimeError("load the demo clinic first (hindfoot demo)")
        surgeons = list(conn.scalars(select(Practitioner.id).where(
            Practitioner.organization_id == org_id, Practitioner.role == "surgeon").order_by(Practitioner.id)))
        offset = conn.scalar(select(func.count()).select_from(Patient).where(
            Patient.organization_id == org_id, Patient.identifier.like("RG-%"))) or 0
        existing = conn.scalar(select(func.count()).select_from(Patient)) or 0
        q_ids = dict(conn.execute(select(Questionnaire.code, Questionnaire.id)  # newest version wins
                                   .order_by(Questionnaire.created_at)).all())
    if not surgeons:
        raise RuntimeError("the demo clinic has no surgeon")
    missing = {"faos", "faam", "pain", "rts"} - set(q_ids)
    if missing:
        raise RuntimeError(f"questionnaires {sorted(missing)} are not stored; load the demo clinic first")
    sets = _answer_sets(rng)
    rng = random.Random(seed + offset)  # a second run adds different patients
    if engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg" and not dry_run:
        from hindfoot.demo.registry_pg import load_on_server  # the server generates the rows

        written = load_on_server(engine, n=n, offset=offset, today=today, rng=rng, org_id=org_id, surgeons=surgeons,
                                 q_ids=q_ids, sets=sets, rebuild=n >= existing, progress=progress, timings=timings)
        return RegistryResult(n, written, clock.perf_counter() - started)
    uid, stored = _id_maker(rng, engine.dialect.name)
    org = stored(org_id)
    q_of = {code: stored(q) for code, q in q_ids.items()}
    surgeon_ids = [stored(s) for s in surgeons]
    # per instrument and severity level: (answers, scores, [(observation code, value)]) variants
    obs_of = {code: [[(answers, scores, [(SCORE_CODE[(code, sub)], v) for sub, v in scores.items()])
                      for answers, scores in variants] for variants in by_level] for code, by_level in sets.items()}
    unit_of = {"faos": "score", "faam": "score", "pain": "/10"}
    sports, surgeries, backs = _Weighted(SPORTS), _Weighted(SURGERIES), _Weighted(RETURNS)
    times = [[time(h, m) for m in (0, 15, 30, 45)] for h in range(24)]
    total_rows = 0
    now = datetime.now(UTC)
    rand = rng.random
    # the organisation in the batch's tally keys until it is submitted: an int hashes faster than a UUID
    ORG = cast(uuid.UUID, 0)  # noqa: N806

    def at(day: date, hour: int) -> datetime:
        return datetime.combine(day, times[hour][int(rand() * 4)], tzinfo=UTC)

    writer = _Writer(engine, progress, dry_run=dry_run)
    try:
        done = 0
        while done < n:
            size = min(batch, n - done)
            rows: dict[str, list[tuple[Any, ...]]] = {k: [] for k in _COLUMNS}
            patients, episodes, procedures_, events = rows["patient"], rows["episode"], rows["procedure"], rows["event"]
            responses, observations = rows["response"], rows["obs"]
            registry_scores, registry_episodes = rows["registry_score"], rows["registry_episode"]
            delta: tallies.Tally = {}  # this batch's share of the dashboard totals
            for k in range(size):
                number = offset + done + k + 1
                pid, eid = uid(), uid()
                start = today - timedelta(days=int(rand() * (3 * 365 + 1)))
                birth = start - timedelta(days=16 * 365 + int(rand() * (39 * 365 + 1)))
                sport = sports.pick(rng)
                identifier, family = f"RG-{number:07d}", f"Patient {number}"
                sex = "female" if rand() < 0.5 else "male"
                level = LEVELS_OF_PLAY[int(rand() * 3)]
                surgical = rand() < 0.7
                anchor = start + timedelta(days=30 + int(rand() * 121) if surgical else 7)
                if anchor > today:
                    surgical, anchor = False, start + timedelta(days=7)
                stage = ("discharged" if (today - start).days > 400
                         else "rehabilitation" if surgical else "conservative_care")
                # the patient's current episode is this one (its only one)
                patients.append((pid, org, identifier, "Registry", family, birth, sex, None, None, sport, level, True,
                                 now, now, eid, stage, search_text_of("Registry", family, identifier, None, sport)))
                episodes.append((
                    eid, pid, org, "Posterior ankle impingement", "posterior_ankle_impingement",
                    "left" if rand() < 0.5 else "right", "finished" if stage == "discharged" else "active", stage,
                    start, None, None, now, now))
                complicated = False
                complication = None
                if surgical:
                    code = surgeries.pick(rng)
                    complicated = rand() < 0.05
                    if complicated:
                        complication = COMPLICATIONS[int(rand() * len(COMPLICATIONS))]
                    procedures_.append((
                        uid(), pid, eid, code, PROCEDURES[code], None, None, "completed", at(anchor, 9),
                        surgeon_ids[int(rand() * len(surgeon_ids))], None, None, complication, "", now, now))
                elif anchor <= today:
                    events.append((uid(), eid, "assessment", "conservative_care", "conservative care started",
                                   at(anchor, 10), None))
                base_sev = 0.35 + 0.4 * rand()
                respond = rand()
                rts_days = int(rng.gauss(75 if surgical else 60, 20)) + (30 if complicated else 0)
                level_back = backs.pick(rng)
                never_back = rand() < 0.12
                points = [("baseline", start, base_sev, 0.95)]
                for tp, unit, amount, sev, rate in FOLLOW_UPS:
                    due = anchor + timedelta(weeks=amount) if unit == "w" else add_months(anchor, amount)
                    points.append((tp, due, base_sev * sev / 0.5 + 0.1 * rand() - 0.05, rate))
                # the registry summary of this episode, exactly as refresh_registry would derive it
                by_code: dict[str, dict[str, float]] = {}
                answered: dict[str, int] = dict.fromkeys(REGISTRY_TIMEPOINTS, 0)
                rts_n, returned_on, last_seen, previous, back = 0, None, None, 0, 0
                for tp, due, sev, rate in points:
                    if due > today or respond > rate:
                        continue
                    answered[tp] = 1
                    when = at(min(today, due + timedelta(days=int(rand() * 7))), 7 + int(rand() * 15))
                    severity = max(0, min(LEVELS - 1, round(sev * (LEVELS - 1))))
                    for code in ("faos", "faam", "pain"):
                        variants = obs_of[code][severity]
                        answers, scores, values = variants[int(rand() * len(variants))]
                        rid = uid()
                        responses.append((rid, q_of[code], pid, eid, tp, due, "completed", when, answers, scores,
                                          now, now))
                        unit_label = unit_of[code]
                        for obs_code, value in values:
                            observations.append((uid(), pid, eid, None, None, rid, "score", obs_code, "final", None,
                                                 value, unit_label, None, when, None, "", now, now))
                            by_code.setdefault(obs_code, {})[tp] = value
                    if tp == "baseline":
                        continue
                    returned = not never_back and (due - anchor).days >= rts_days
                    status = level_back if returned else "not_returned"
                    answers = {"RTS_STATUS": status}
                    if returned:
                        answers["RTS_DATE"] = (anchor + timedelta(days=max(0, rts_days))).isoformat()
                    rid = uid()
                    responses.append((rid, q_of["rts"], pid, eid, tp, due, "completed", when, answers, {}, now, now))
                    observations.append((uid(), pid, eid, None, None, rid, "score", "rts.status", "final", None, None,
                                         None, status, when, None, "", now, now))
                    rts_n += 1
                    last_seen = when if last_seen is None else max(last_seen, when)
                    previous = max(previous, int(status in RETURNED_PREVIOUS))
                    back = max(back, int(status != "not_returned"))
                    if returned:
                        observations.append((uid(), pid, eid, None, None, rid, "score", "rts.date", "final", None,
                                             None, None, answers["RTS_DATE"], when, None, "", now, now))
                        rts_n += 1
                        returned_on = min(filter(None, (returned_on, answers["RTS_DATE"])))
                for obs_code, by_tp in by_code.items():
                    registry_scores.append((eid, obs_code, *(by_tp.get(tp) for tp in REGISTRY_TIMEPOINTS)))
                anchor_day = anchor if surgical or anchor <= today else None
                procedures = [[complication or "", 1]] if surgical else []
                registry_episodes.append((eid, *answered.values(), rts_n, returned_on, last_seen, previous, back, org,
                                          pid, sport, start, anchor_day, 1, procedures))
                tallies.add_into(delta, tallies.shares(tallies.EpisodeShare(
                    organization_id=ORG, sport=sport, start_day=start, anchor_day=anchor_day,
                    first_of_patient=True, done=answered, rts_answers=rts_n, rts_returned_on=returned_on,
                    rts_last_seen=utc_day(last_seen), rts_previous=previous, rts_returned=back,
                    procedures=procedures, scores=list(by_code.items()))))
            total_rows += sum(len(v) for k, v in rows.items() if not k.startswith("registry_"))
            delta = {(key[0], org_id, *key[2:]): values for key, values in delta.items()}  # the real organisation
            writer.submit(rows, delta, size)  # written by the writer thread while the next batch is built
            done += size
    except BaseException:
        writer.close(raise_error=False)  # let the writer thread end; the first error wins
        raise
    writer.close()
    if not dry_run:
        analyze(engine, _ANALYZED)  # planner statistics for what was just loaded (no waiting for autovacuum)
    return RegistryResult(n, total_rows, clock.perf_counter() - started)


_TABLES = cast(dict[str, Table], {
    "patient": Patient.__table__, "episode": EpisodeOfCare.__table__, "procedure": Procedure.__table__,
    "event": PathwayEvent.__table__, "response": QuestionnaireResponse.__table__, "obs": Observation.__table__,
    "registry_score": RegistryScore.__table__, "registry_episode": RegistryEpisode.__table__,
})
_ANALYZED = ("patient", "episode_of_care", "procedure", "pathway_event", "questionnaire_response", "observation",
             *REGISTRY_TABLES)
# column order of the tuples built above, in foreign-key order
_COLUMNS: dict[str, tuple[str, ...]] = {
    "patient": ("id", "organization_id", "identifier", "given_name", "family_name", "birth_date", "sex", "email",
                "phone", "sport", "level", "active", "created_at", "updated_at", "current_episode_id", "current_stage",
                "search_text"),
    "episode": ("id", "patient_id", "organization_id", "title", "condition_code", "laterality", "status", "stage",
                "period_start", "period_end", "care_manager_id", "created_at", "updated_at"),
    "procedure": ("id", "patient_id", "episode_id", "code", "display", "snomed_code", "cpt_code", "status",
                  "performed_at", "performer_id", "location_id", "laterality", "complication", "note", "created_at",
                  "updated_at"),
    "event": ("id", "episode_id", "from_stage", "to_stage", "reason", "recorded_at", "recorded_by_id"),
    "response": ("id", "questionnaire_id", "patient_id", "episode_id", "timepoint", "due_on", "status",
                 "authored_at", "answers", "scores", "created_at", "updated_at"),
    "obs": ("id", "patient_id", "episode_id", "encounter_id", "diagnostic_report_id", "questionnaire_response_id",
            "category", "code", "status", "value_boolean", "value_quantity", "value_unit", "value_string",
            "effective_at", "performer_id", "note", "created_at", "updated_at"),
    "registry_score": tuple(SCORE_COLUMNS),
    "registry_episode": tuple(EPISODE_COLUMNS),
}


class _Writer:
    """Bulk insert of row tuples on a writer thread, in order, while the caller builds the next batch
    (the database and the generator overlap; the drivers release the GIL while the database works):
    one transaction per batch, its share of the totals with it. SQLite: the driver's executemany with
    SQLAlchemy's own bind processing, so values are stored exactly as the ORM stores them. (A
    PostgreSQL load through psycopg never comes here: the server generates it, `registry_pg`.)"""

    def __init__(self, engine: Engine, progress: Callable[[int], None] | None, *, dry_run: bool = False) -> None:
        self.engine = engine
        self.dry_run = dry_run
        self.dialect = engine.dialect
        self.progress = progress
        self.queue: queue.Queue[tuple[dict[str, list[tuple[Any, ...]]], tallies.Tally, int] | None] = queue.Queue(
            maxsize=1)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="registry-writer", daemon=True)
        self.thread.start()

    def submit(self, rows: dict[str, list[tuple[Any, ...]]], delta: tallies.Tally, size: int) -> None:
        if self.error is not None:
            raise self.error
        if self.dry_run:
            if self.progress:
                self.progress(size)
            return
        self.queue.put((rows, delta, size))

    def close(self, *, raise_error: bool = True) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None and raise_error:
            raise self.error

    def _run(self) -> None:
        while (item := self.queue.get()) is not None:
            if self.error is not None:
                continue  # drain: the caller raises at its next submit or at close
            rows, delta, size = item
            try:
                with self.engine.begin() as conn:
                    self._batch(conn, rows, delta)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                self.error = exc
                continue
            if self.progress:
                self.progress(size)

    def _batch(self, conn: Connection, rows: dict[str, list[tuple[Any, ...]]], delta: tallies.Tally) -> None:
        if self.dialect.name == "sqlite":  # a bigger page cache for the random-key indexes
            conn.exec_driver_sql("PRAGMA cache_size=-262144")
        for key, cols in _COLUMNS.items():
            if rows[key]:
                self.write(conn, _TABLES[key], cols, rows[key])
        add_totals(conn, delta)  # the dashboard totals move with the rows
        if self.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA cache_size=-2000")

    def write(self, conn: Connection, table: Table, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        cols = [table.c[name] for name in columns]
        if self.dialect.name != "sqlite":
            conn.execute(insert(table), [dict(zip(columns, r, strict=True)) for r in rows])
            return
        # ids arrive as the text SQLAlchemy stores for a Uuid on SQLite (`_id_maker`): no processing
        processors = [None if isinstance(c.type, Uuid) else c.type.dialect_impl(self.dialect).bind_processor(
            self.dialect) for c in cols]
        active: list[tuple[int, Any, dict[Any, Any], bool]] = [
            (i, p, {}, isinstance(c.type, JSON)) for i, (c, p) in enumerate(zip(cols, processors, strict=True))
            if p is not None]
        values: list[Any] = rows
        if active:
            values = []
            for r in rows:
                row = list(r)
                for i, p, memo, by_id in active:  # memoised: keys, timestamps and answer sets repeat
                    v = row[i]
                    if v is not None:
                        key = id(v) if by_id else v
                        out = memo.get(key)
                        if out is None:
                            out = memo[key] = p(v)
                        row[i] = out
                values.append(row)
        sql = f'INSERT INTO "{table.name}" ({", ".join(columns)}) VALUES ({", ".join("?" * len(columns))})'
        conn.connection.driver_connection.executemany(sql, values)  # type: ignore[union-attr]

