"""Reminder emails over a real local SMTP server: sent once per episode and time point."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from factories import make_org, make_patient
from outcome_helpers import episode_of
from smtp_server import smtp_server
from sqlalchemy import func, select
from typer.testing import CliRunner

from hindfoot.cli.main import app as cli
from hindfoot.db.models import OutcomeReminder, Questionnaire
from hindfoot.outcomes import reminders
from hindfoot.settings import Settings, get_settings


@pytest.fixture
def cli_env(monkeypatch, database_url):
    def use(port: int = 1025) -> None:
        monkeypatch.setenv("HINDFOOT_DATABASE_URL", database_url)
        monkeypatch.setenv("HINDFOOT_SMTP_PORT", str(port))
        monkeypatch.setenv("HINDFOOT_BASE_URL", "https://clinic.example")
        get_settings.cache_clear()

    yield use
    get_settings.cache_clear()


def test_reminders_sent_once_over_smtp(db, cli_env):
    org = make_org(db)
    due = make_patient(db, org, given="Due")
    episode_of(db, due).period_start = date.today() - timedelta(days=2)
    nothing_due = make_patient(db, org, given="Later")
    episode_of(db, nothing_due).period_start = date.today() + timedelta(days=60)
    no_email = make_patient(db, org, given="Quiet")
    no_email.email = None
    episode_of(db, no_email).period_start = date.today()
    db.commit()
    with smtp_server() as (port, inbox):
        cli_env(port)
        first = CliRunner().invoke(cli, ["outcomes", "remind"])
        assert first.exit_code == 0, first.output
        assert "1 reminder(s) sent" in first.output
        second = CliRunner().invoke(cli, ["outcomes", "remind"])
        assert "0 reminder(s) sent" in second.output
    assert len(inbox) == 1
    message = inbox[0]
    assert message["To"] == due.email and "baseline" in message["Subject"]
    body = message.get_content()
    assert "https://clinic.example/login?next=/questionnaires" in body and "Dear Due" in body
    db.expire_all()
    row = db.scalars(select(OutcomeReminder)).one()
    assert (row.patient_id, row.timepoint, row.instruments) == (due.id, "baseline", "faos,faam,pain")
    assert row.message_id == message["Message-ID"]


def test_a_refused_email_is_retried_next_time(db):
    org = make_org(db)
    patient = make_patient(db, org)
    episode_of(db, patient).period_start = date.today()
    db.commit()
    [item] = reminders.pending(db, date.today())
    from smtp_server import free_port

    from hindfoot.notifications.email import EmailError

    with pytest.raises(EmailError):
        reminders.send_reminder(db, Settings(environment="test", smtp_port=free_port()), item)
    assert db.scalar(select(func.count()).select_from(OutcomeReminder)) == 0
    assert len(reminders.pending(db, date.today())) == 1


def test_instruments_load_stores_a_new_version_and_refuses_mismatches(db, cli_env, tmp_path):
    cli_env()
    from importlib import resources

    shipped = json.loads(resources.files("hindfoot.outcomes.instruments").joinpath("pain.json").read_text())
    shipped["item"][0]["item"][0]["text"] = "Licensed wording of the pain question"
    good = tmp_path / "pain-licensed.json"
    good.write_text(json.dumps(shipped))
    result = CliRunner().invoke(cli, ["instruments", "load", str(good)])
    assert result.exit_code == 0, result.output
    again = CliRunner().invoke(cli, ["instruments", "load", str(good)])
    assert again.exit_code == 0
    db.expire_all()
    versions = db.scalars(select(Questionnaire.version).where(Questionnaire.code == "pain")
                          .order_by(Questionnaire.created_at)).all()
    assert versions == ["1.0.0", "1.0.0-2", "1.0.0-3"]
    from hindfoot.outcomes import service

    current = service.instrument_of(service.questionnaire_for(db, "pain"))
    assert current.items[0].text == "Licensed wording of the pain question"

    shipped["item"][0]["item"][0]["linkId"] = "PAIN_SCORE"
    bad = tmp_path / "pain-bad.json"
    bad.write_text(json.dumps(shipped))
    refused = CliRunner().invoke(cli, ["instruments", "load", str(bad), "--instrument", "pain"])
    assert refused.exit_code == 2
    assert "PAIN" in refused.output
    assert CliRunner().invoke(cli, ["instruments", "load", str(tmp_path / "missing.json")]).exit_code == 2
