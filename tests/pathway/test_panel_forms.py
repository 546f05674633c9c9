"""The care-pathway panel's forms on the shared form pattern, over HTTP: a refused form comes back in the
panel (htmx) or as a 422 page (no JavaScript) with the problem by its field and in the summary, what was
typed kept in that form only, and nothing written."""

from __future__ import annotations

from datetime import date, timedelta
from html import escape

from factories import login
from pathway_helpers import make_clinic
from sqlalchemy import func, select

from hindfoot.db.models import CarePlan, Condition, EpisodeOfCare, Observation, Procedure

HX = {"hx-request": "true"}
LONG = "Risks discussed at length. " * 80  # over 2000 characters


def _csrf(client) -> dict[str, str]:
    return {"csrf_token": client.headers["X-CSRF-Token"]}


def _named(text: str, field_id: str, words: str, typed: str | None = None) -> None:
    """The message sits by the field (aria-invalid, described by it), the summary links to it, the value stays."""
    assert f'id="{field_id}-error"' in text, text[:600]
    assert f'aria-describedby="{field_id}-error"' in text or f'{field_id}-error"' in text
    assert 'aria-invalid="true"' in text
    assert f'href="#{field_id}"' in text and 'class="error-summary"' in text
    assert words in text, text[:600]
    if typed is not None:
        assert escape(typed.strip(), quote=False) in text


def _count(db, model) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_each_note_over_the_limit_is_named_by_its_field_and_nothing_is_saved(client, db):
    c = make_clinic(db)
    db.commit()
    login(client, "doc@example.org")
    ep, observations = c.episode.id, _count(db, Observation)
    for path, prefix, data, label in (
            ("confirm-diagnosis", f"confirm-{ep}-", {"note": LONG}, "How it was confirmed"),
            ("document", f"failed-{ep}-", {"kind": "conservative_care_failed", "note": LONG},
             "Conservative care has failed because"),
            ("consent", f"consent-{ep}-", {"given": "true", "note": LONG}, "Consent note"),
            ("transition", f"move-discharged-{ep}-", {"to": "discharged", "expected_stage": "conservative_care",
                                                      "reason": LONG}, "Reason")):
        field = "reason" if path == "transition" else "note"
        r = client.post(f"/episodes/{ep}/pathway/{path}", data=_csrf(client) | data, headers=HX)
        assert r.status_code == 200, (path, r.text[:300])
        _named(r.text, prefix + field, f"{label}: at most 2000 characters (you typed {len(LONG.strip())})", LONG)
        assert r.text.count(escape(LONG.strip(), quote=False)) == 1  # kept in the refused form only
        plain = client.post(f"/episodes/{ep}/pathway/{path}", data=_csrf(client) | data, follow_redirects=False)
        assert plain.status_code == 422 and "<html" in plain.text and f'id="{prefix}{field}-error"' in plain.text
    assert _count(db, Observation) == observations
    assert db.scalars(select(Condition.verification_status)).all() == ["provisional"]
    assert db.get(EpisodeOfCare, ep).stage == "conservative_care"  # type: ignore[union-attr]


def test_dates_in_the_panel_are_named_and_kept(client, db):
    c = make_clinic(db)
    db.commit()
    login(client, "doc@example.org")
    ep, observations = c.episode.id, _count(db, Observation)
    later = (date.today() + timedelta(days=5)).isoformat()
    for value, words in (("", "Enter the date returned"), ("2026-02-31", "Date returned: enter a real date"),
                         ("1850-01-01", "Date returned: must be a date from"),
                         (later, "Date returned: return to sport cannot be dated in the future")):
        r = client.post(f"/episodes/{ep}/pathway/return-to-sport", headers=HX,
                        data=_csrf(client) | {"status": "returned_lower_level", "on": value})
        assert r.status_code == 200
        _named(r.text, f"rts-{ep}-on", words, value or None)
        assert '<option value="returned_lower_level" selected' in r.text
    assert _count(db, Observation) == observations

    plans = _count(db, CarePlan)
    for value, words in (("next week", "Start: enter a real date"),
                         ((date.today() + timedelta(days=400)).isoformat(), "more than a year from today")):
        r = client.post(f"/episodes/{ep}/care-plans", headers=HX, data=_csrf(client) | {
            "procedure": "conservative", "start": value, "sport": "rugby", "level": "amateur"})
        assert r.status_code == 200
        _named(r.text, f"plan-{ep}-start", words, value)
    assert _count(db, CarePlan) == plans


def test_an_operation_date_in_the_future_is_named_by_the_field(client, db):
    c = make_clinic(db, stage="surgery")
    db.commit()
    login(client, "doc@example.org")
    ep = c.episode.id
    later = (date.today() + timedelta(days=2)).isoformat()
    r = client.post(f"/episodes/{ep}/pathway/procedure", headers=HX, data=_csrf(client) | {
        "code": "posterior_arthroscopic_excision", "performed_on": later})
    _named(r.text, f"proc-{ep}-performed_on", "Date of operation: a procedure cannot be recorded", later)
    plain = client.post(f"/episodes/{ep}/pathway/procedure", follow_redirects=False, data=_csrf(client) | {
        "code": "posterior_arthroscopic_excision", "performed_on": "31/12/2025"})
    assert plain.status_code == 422 and "31/12/2025" in plain.text and "enter a real date" in plain.text
    assert _count(db, Procedure) == 0
