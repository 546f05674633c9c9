"""Running row statements: one on the session's connection, or several in one round trip.

Rows come back as plain column tuples (no ORM objects, no autoflush: a read sees what the
transaction has flushed). On PostgreSQL (psycopg) `batch` sends independent statements together in
one pipeline; a statement built once is compiled once per dialect.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy.orm import Session


def run(db: Session, stmt: Any, params: dict[str, Any]) -> list[Any]:
    """A statement's rows, run on the session's connection (no ORM layer, no autoflush)."""
    return list(db.connection().execute(stmt, params).all())


@dataclass(frozen=True)
class _Compiled:
    sql: str
    binds: dict[str, Any]  # bound parameter -> its type's bind processor (or None)
    columns: tuple[Any, ...]  # the selected columns' types, in order
    names: tuple[str, ...]
    params: dict[str, Any]  # the values built into the statement (a statement built per request)


_COMPILED: dict[tuple[Any, str], _Compiled] = {}


def _compile(stmt: Any, dialect: Any, *, built_in: bool = False) -> _Compiled:
    """A statement compiled for the driver. A statement built once (a module constant or cached) is
    compiled once per dialect and takes its values as bound parameters; one built for this request
    (`built_in`) carries its values, expanded lists (IN) included, and is compiled each time."""
    key = (stmt, dialect.name)
    if not built_in and key in _COMPILED:
        return _COMPILED[key]
    compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": built_in})
    binds = {name: bind.type.dialect_impl(dialect).bind_processor(dialect) for name, bind in compiled.binds.items()}
    params = dict(compiled.params) if built_in else {}
    for name in params:  # an expanded list's values are `<its name>_<n>`
        if name not in binds:
            binds[name] = binds.get(name.rsplit("_", 1)[0])
    out = _Compiled(compiled.string, binds, tuple(c.type for c in stmt.selected_columns),
                    tuple(c.key for c in stmt.selected_columns), params)
    if not built_in:
        _COMPILED[key] = out
    return out


def batch(db: Session, queries: Sequence[tuple[Any, dict[str, Any] | None]]) -> list[list[Any]]:
    """The rows of several independent statements (plain columns, no ORM objects). A statement
    comes with its bound parameters, or with None when it was built for this request with its values.

    On PostgreSQL (psycopg) they are sent together in one pipeline and their answers read back after
    one synchronisation: one network round trip for all of them, not one each. The driver's values
    go through each column type's result processor, as SQLAlchemy's own results do (UTC datetimes).
    Elsewhere (SQLite, in process) they run one after another on the session's connection."""
    conn = db.connection()
    if conn.dialect.name != "postgresql" or conn.dialect.driver != "psycopg" or len(queries) < 2:
        return [run(db, stmt, params or {}) for stmt, params in queries]
    raw = conn.connection.driver_connection
    assert raw is not None
    compiled = [_compile(stmt, conn.dialect, built_in=params is None) for stmt, params in queries]
    cursors = []
    with raw.pipeline():
        for c, (_, params) in zip(compiled, queries, strict=True):
            values = c.params if params is None else params
            cursor = raw.cursor()
            cursor.execute(c.sql, {k: (c.binds[k](v) if c.binds.get(k) else v) for k, v in values.items()})
            cursors.append(cursor)
    out: list[list[Any]] = []
    for c, cursor in zip(compiled, cursors, strict=True):
        codes = tuple(d.type_code for d in cursor.description or ())
        processors = _processors(c.columns, codes, conn.dialect)
        record = _record(c.names)
        out.append([record(*(p(v) if p else v for p, v in zip(processors, values, strict=True)))
                    for values in cursor.fetchall()])
        cursor.close()
    return out


_PROCESSORS: dict[tuple[Any, ...], tuple[Any, ...]] = {}


def _processors(columns: tuple[Any, ...], codes: tuple[int, ...], dialect: Any) -> tuple[Any, ...]:
    """Each column type's result processor for the driver's type code (None: the value as it is)."""
    key = (*columns, *codes, dialect.name)
    processors = _PROCESSORS.get(key)
    if processors is None:
        if len(_PROCESSORS) > 256:
            _PROCESSORS.clear()
        processors = _PROCESSORS[key] = tuple(t.dialect_impl(dialect).result_processor(dialect, code)
                                              for t, code in zip(columns, codes, strict=True))
    return processors


@cache
def _record(names: tuple[str, ...]) -> Any:
    """A row class with the columns as attributes (and `_asdict`, as SQLAlchemy's rows have)."""
    return namedtuple("Row", names)  # type: ignore[misc]  # noqa: PYI024
