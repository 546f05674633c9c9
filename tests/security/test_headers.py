"""Every answer carries the browser-hardening headers; answers with patient data are never stored."""

from __future__ import annotations

from factories import login, make_account, make_org, make_patient
from fastapi.testclient import TestClient

HARDENING = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def _check(r) -> None:  # type: ignore[no-untyped-def]
    csp = r.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline' " not in csp.split(
        "style-src-attr")[0]
    for name, value in HARDENING.items():
        assert r.headers[name] == value, name


def test_pages_api_answers_and_errors_carry_the_headers_and_no_store(client, db):
    org = make_org(db)
    patient = make_patient(db, org, "Ada", "Ankle")
    make_account(db, org, "clinician", email="doc@example.org")
    db.commit()
    for path in ("/", "/login", "/check", "/no-such-page", "/api/patients"):
        r = client.get(path, follow_redirects=False)
        _check(r)
        assert r.headers["cache-control"] == "no-store", path
    login(client, "doc@example.org")
    for path in (f"/api/patients/{patient.id}", f"/patients/{patient.id}", "/patients", "/api/patients",
                 f"/api/fhir/Patient/{patient.id}/$everything"):
        r = client.get(path)
        assert r.status_code == 200, path
        _check(r)
        assert r.headers["cache-control"] == "no-store", path
        assert "strict-transport-security" not in r.headers  # plain HTTP: HSTS would mean nothing
    bad = client.post("/api/patients", json={"nonsense": 1})
    assert bad.status_code in (403, 422) and bad.headers["cache-control"] == "no-store"


def test_static_files_may_be_cached_but_are_not_sniffed(client):
    r = client.get("/static/css/app.css")
    assert r.status_code == 200
    assert "no-store" not in r.headers.get("cache-control", "")
    assert r.headers["x-content-type-options"] == "nosniff"


def test_hsts_when_served_over_https(app):
    with TestClient(app, base_url="https://clinic.example") as c:
        r = c.get("/")
        assert r.headers["strict-transport-security"].startswith("max-age=31536000")
        _check(r)


def test_the_base_page_has_no_inline_script(client):
    html = client.get("/").text
    assert "<script>" not in html and " onclick=" not in html and "<style" not in html
    assert '<script src="/static/' in html
