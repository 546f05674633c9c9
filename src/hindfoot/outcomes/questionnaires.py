"""Questionnaire definitions as stored: the newest version of an instrument (stored from the shipped
file the first time), a clinic's own version, and the instrument a stored definition describes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hindfoot.db.models import Questionnaire
from hindfoot.outcomes.instruments import (
    Instrument,
    InstrumentError,
    load_instrument,
    parse_questionnaire,
)


def questionnaire_for(db: Session, code: str) -> Questionnaire:
    """The newest stored version of an instrument, stored from the shipped file the first time."""
    row = db.scalar(
        select(Questionnaire)
        .where(Questionnaire.code == code, Questionnaire.status == "active")
        .order_by(Questionnaire.created_at.desc(), Questionnaire.version.desc())
        .limit(1)
    )
    if row is not None:
        return row
    instrument = load_instrument(code)  # refuses unknown codes
    import json
    from importlib import resources

    definition = json.loads(
        resources.files("hindfoot.outcomes.instruments").joinpath(f"{code}.json").read_text("utf-8")
    )
    row = Questionnaire(code=code, version=instrument.version or "1", title=instrument.title,
                        status="active", definition=definition)
    db.add(row)
    db.flush()
    return row


def instrument_of(questionnaire: Questionnaire) -> Instrument:
    """The stored definition (a clinic's own wording, if loaded), else the shipped one."""
    try:
        return parse_questionnaire(questionnaire.definition, questionnaire.code)
    except InstrumentError:
        return load_instrument(questionnaire.code)


def load_questionnaire_version(db: Session, instrument: Instrument, definition: dict[str, Any]) -> Questionnaire:
    """Store a checked clinic Questionnaire as the newest version of its instrument.

    The version is the file's own when it is new, else the next free `<version>-n`; responses keep
    pointing at the version they were answered on.
    """
    taken = set(db.scalars(select(Questionnaire.version).where(Questionnaire.code == instrument.code)))
    version = instrument.version or "1"
    if version in taken:
        n = 2
        while f"{version}-{n}" in taken:
            n += 1
        version = f"{version}-{n}"
    row = Questionnaire(code=instrument.code, version=version[:20], title=instrument.title[:200] or instrument.code,
                        status="active", definition=definition)
    db.add(row)
    db.flush()
    return row
