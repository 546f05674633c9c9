"""Anonymous symptom checks are deleted once nobody has touched them for a while; patients' own are kept."""

from __future__ import annotations

from datetime import timedelta

from factories import make_org, make_patient
from sqlalchemy import select
from typer.testing import CliRunner

from hindfoot.assessment.service import purge_anonymous_interviews
from hindfoot.cli.main import app as cli
from hindfoot.db.base import utcnow
from hindfoot.db.models import AssessmentInterview
from hindfoot.settings import get_settings


def _interviews(db, patient):
    now = utcnow()
    rows = {
        "old anonymous": AssessmentInterview(state={}, updated_at=now - timedelta(days=45)),
        "recent anonymous": AssessmentInterview(state={}, updated_at=now - timedelta(days=3)),
        "old, the patient's own": AssessmentInterview(state={}, patient_id=patient.id, updated_at=now - timedelta(days=400)),
    }
    db.add_all(rows.values())
    db.commit()
    return {name: row.id for name, row in rows.items()}


def _left(db):
    db.expire_all()
    return set(db.scalars(select(AssessmentInterview.id)))


def test_purge_deletes_only_old_anonymous_checks(db):
    patient = make_patient(db, make_org(db))
    ids = _interviews(db, patient)
    assert purge_anonymous_interviews(db, untouched_since=utcnow() - timedelta(days=30)) == 1
    db.commit()
    assert _left(db) == {ids["recent anonymous"], ids["old, the patient's own"]}
    assert purge_anonymous_interviews(db, untouched_since=utcnow() - timedelta(days=30)) == 0


def test_cli_uses_the_setting_or_days(database_url, db, monkeypatch):
    patient = make_patient(db, make_org(db))
    ids = _interviews(db, patient)
    monkeypatch.setenv("HINDFOOT_DATABASE_URL", database_url)
    monkeypatch.setenv("HINDFOOT_ANONYMOUS_CHECK_DAYS", "60")
    get_settings.cache_clear()
    try:
        kept = CliRunner().invoke(cli, ["interviews", "purge"])
        assert kept.exit_code == 0, kept.output
        assert "0 anonymous symptom check(s) untouched for 60+ days deleted" in kept.output
        assert len(_left(db)) == 3
        purged = CliRunner().invoke(cli, ["interviews", "purge", "--days", "2"])
        assert purged.exit_code == 0, purged.output
        assert "2 anonymous symptom check(s) untouched for 2+ days deleted" in purged.output
        assert _left(db) == {ids["old, the patient's own"]}
        assert CliRunner().invoke(cli, ["interviews", "purge", "--days", "0"]).exit_code == 2
    finally:
        get_settings.cache_clear()
