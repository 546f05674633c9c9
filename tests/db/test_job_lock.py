"""Scheduled jobs run once even when two instances start them at the same moment."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta

from factories import make_org, make_patient
from outcome_helpers import episode_of
from smtp_server import smtp_server
from sqlalchemy import func, select
from typer.testing import CliRunner

from hindfoot.cli.main import app as cli
from hindfoot.db.engine import make_engine
from hindfoot.db.job_lock import job_lock
from hindfoot.db.models import OutcomeReminder
from hindfoot.settings import get_settings


def test_one_holder_at_a_time_and_free_again_after(engine, database_url):
    other = make_engine(database_url)  # another instance: its own engine and connections
    try:
        with job_lock(engine, "nightly") as first:
            assert first is True
            with job_lock(other, "nightly") as second:
                assert second is False
            with job_lock(other, "another-job") as unrelated:
                assert unrelated is True
        with job_lock(other, "nightly") as after:
            assert after is True
    finally:
        other.dispose()


def test_a_job_started_while_another_instance_runs_it_does_nothing(engine, database_url, monkeypatch):
    monkeypatch.setenv("HINDFOOT_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        with job_lock(engine, "interviews-purge"):
            busy = CliRunner().invoke(cli, ["interviews", "purge"])
        free = CliRunner().invoke(cli, ["interviews", "purge"])
    finally:
        get_settings.cache_clear()
    assert busy.exit_code == 0 and "is running on this database: nothing done" in busy.output
    assert free.exit_code == 0 and "deleted" in free.output


def test_two_processes_reminding_at_once_send_each_reminder_once(db, database_url):
    org = make_org(db)
    patients = [make_patient(db, org, given=f"Due{i}") for i in range(6)]
    for p in patients:
        episode_of(db, p).period_start = date.today() - timedelta(days=2)
    db.commit()
    with smtp_server() as (port, inbox):
        env = {**os.environ, "HINDFOOT_DATABASE_URL": database_url, "HINDFOOT_SMTP_PORT": str(port)}
        runs = [subprocess.Popen([sys.executable, "-m", "hindfoot", "outcomes", "remind"], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
        outputs = [r.communicate(timeout=120)[0] for r in runs]
        assert [r.returncode for r in runs] == [0, 0], outputs
    assert sorted(m["To"] for m in inbox) == sorted(p.email for p in patients), outputs
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(OutcomeReminder)) == len(patients)
