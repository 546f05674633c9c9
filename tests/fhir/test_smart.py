"""SMART App Launch 2.0 and Backend Services, driven by a real SMART client library (fhirclient,
from PyPI) against a served app: discovery, admin registration, standalone and EHR launch with PKCE,
the consent page, scopes, refresh tokens, id_token, bearer-only reads and searches that follow
references, and client_credentials with a signed JWT assertion. No session cookie reaches the FHIR API."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from factories import PASSWORD, login, make_account, make_fhir_clinic
from fhirclient import client as fhir_client
from fhirclient.models.encounter import Encounter as FEncounter
from fhirclient.models.observation import Observation as FObservation
from fhirclient.models.patient import Patient as FPatient
from fhirclient.models.practitioner import Practitioner as FPractitioner
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from serving import served
from sqlalchemy import select

from hindfoot.db.models import AuditEvent, OAuthToken, Observation

REDIRECT = "http://127.0.0.1:8409/callback"
APP_PORT = 8400


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):  # type: ignore[no-untyped-def]
    # requests (under fhirclient) honours proxy variables; the served app is on loopback
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def _clinic(db):  # type: ignore[no-untyped-def]
    c = make_fhir_clinic(db, pain_scores=3)
    db.add(Observation(patient_id=c.bob.id, category="score", code="pain.nrs", value_quantity=5.0,
                       value_unit="/10", effective_at=c.t0))
    clinician = make_account(db, c.org, "clinician", practitioner=c.surgeon)
    admin = make_account(db, c.org, "admin")
    patient_account = make_account(db, c.org, "patient", patient=c.bob)
    db.commit()
    return {"org": c.org, "surgeon": c.surgeon, "alice": c.alice, "bob": c.bob, "visit": c.visit,
            "clinician": clinician, "admin": admin, "patient": patient_account}


def _register_app(client, admin_email: str, **extra) -> dict:  # type: ignore[no-untyped-def]
    login(client, admin_email)
    body = {"client_id": "outcomes-viewer", "name": "Outcomes Viewer", "kind": "smart-app",
            "redirect_uris": [REDIRECT], **extra}
    response = client.post("/api/smart-clients", json=body)
    assert response.status_code == 201, response.text
    client.post("/api/auth/logout")
    client.cookies.clear()
    return response.json()


def _approve(base: str, email: str, authorize_url: str, patient_id: uuid.UUID | None = None) -> str:
    """A person signs in and approves on the consent page (a browser's part); returns the redirect to the app."""
    with httpx2.Client(base_url=base, timeout=30) as browser:
        response = browser.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        csrf = response.json()["csrf_token"]
        page = browser.get(authorize_url)
        assert page.status_code == 200, page.text
        assert "Allow Outcomes Viewer?" in page.text
        action = authorize_url.split(base, 1)[-1]
        form = {"csrf_token": csrf, "decision": "approve"}
        if patient_id is not None:
            assert f'value="{patient_id}"' in page.text  # the picker offers the clinic's patients
            form["patient_id"] = str(patient_id)
        answer = browser.post(action, data=form)
        assert answer.status_code == 303, answer.text
        return answer.headers["location"]


def _smart(base: str, scope: str, **settings) -> fhir_client.FHIRClient:  # type: ignore[no-untyped-def]
    return fhir_client.FHIRClient(settings={"app_id": "outcomes-viewer", "api_base": f"{base}/api/fhir",
                                            "redirect_uri": REDIRECT, "scope": scope, **settings})


def test_discovery_names_the_endpoints_and_capabilities(client):
    config = client.get("/api/fhir/.well-known/smart-configuration")
    assert config.status_code == 200
    body = config.json()
    assert body["authorization_endpoint"].endswith("/oauth/authorize")
    assert body["token_endpoint"].endswith("/api/oauth/token")
    assert {"launch-ehr", "launch-standalone", "client-public", "permission-v2", "sso-openid-connect",
            "permission-offline", "context-standalone-patient"} <= set(body["capabilities"])
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert "private_key_jwt" in body["token_endpoint_auth_methods_supported"]
    security = client.get("/api/fhir/metadata").json()["rest"][0]["security"]
    assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    jwks = client.get("/api/oauth/jwks").json()
    assert jwks["keys"][0]["kty"] == "RSA" and "d" not in jwks["keys"][0]


def test_only_an_admin_registers_apps_and_bad_registrations_name_the_field(client, db):
    c = _clinic(db)
    login(client, c["clinician"].email)
    body = {"client_id": "x", "name": "X", "kind": "smart-app", "redirect_uris": [REDIRECT]}
    assert client.post("/api/smart-clients", json=body).status_code == 403
    client.post("/api/auth/logout")
    login(client, c["admin"].email)
    no_uri = client.post("/api/smart-clients", json={**body, "redirect_uris": []})
    assert no_uri.status_code == 422 and no_uri.json()["field"] == "redirect_uris"
    plain_http = client.post("/api/smart-clients", json={**body, "redirect_uris": ["http://evil.example/cb"]})
    assert plain_http.status_code == 422 and plain_http.json()["field"] == "redirect_uris"
    too_much = client.post("/api/smart-clients", json={**body, "scope": "user/*.rs system/*.rs"})
    assert too_much.status_code == 422 and too_much.json()["field"] == "scope"
    private = RSAKey.generate_key(2048, private=True).as_dict(private=True)
    leaked = client.post("/api/smart-clients", json={"client_id": "b", "name": "B", "kind": "smart-backend",
                                                     "jwks": {"keys": [private]}})
    assert leaked.status_code == 422 and leaked.json()["field"] == "jwks"
    assert client.post("/api/smart-clients", json=body).status_code == 201
    assert client.post("/api/smart-clients", json=body).status_code == 409
    page = client.get("/admin/apps")
    assert page.status_code == 200 and "<code>x</code>" in page.text and 'href="/admin/apps"' in page.text
    # the page registers too (form + CSRF), and says what is wrong
    csrf = client.headers["X-CSRF-Token"]
    added = client.post("/admin/apps", data={"csrf_token": csrf, "kind": "smart-app", "client_id": "viewer-2",
                                             "name": "Viewer Two", "redirect_uris": "https://viewer.example/cb"})
    assert added.status_code == 200 and "Viewer Two is registered as viewer-2." in added.text
    refused = client.post("/admin/apps", data={"csrf_token": csrf, "kind": "smart-backend", "client_id": "b2",
                                               "name": "B2", "jwks": "{not json"})
    assert refused.status_code == 422 and "jwks must be a JSON Web Key Set" in refused.text
    client.post("/api/auth/logout")
    login(client, c["clinician"].email)
    assert client.get("/admin/apps").status_code == 403


def test_a_real_smart_client_runs_the_standalone_launch_and_reads_without_a_cookie(app, client, db):
    c = _clinic(db)
    _register_app(client, c["admin"].email)
    with served(app, port=APP_PORT) as base:
        smart = _smart(base, "launch/patient openid fhirUser offline_access patient/*.rs")
        authorize_url = smart.authorize_url
        query = parse_qs(urlsplit(authorize_url).query)
        assert query["code_challenge_method"] == ["S256"] and query["aud"] == [f"{base}/api/fhir"]
        redirect = _approve(base, c["clinician"].email, authorize_url, patient_id=c["alice"].id)
        assert redirect.startswith(REDIRECT + "?code=")
        smart.handle_callback(redirect)
        assert smart.patient_id == str(c["alice"].id)
        assert smart.launch_context["need_patient_banner"] is True
        id_token = smart.launch_context["id_token"]
        claims = jwt.decode(id_token, KeySet.import_key_set(httpx2.get(f"{base}/api/oauth/jwks").json())).claims
        assert claims["fhirUser"] == f"{base}/api/fhir/Practitioner/{c['surgeon'].id}"
        assert claims["aud"] in ("outcomes-viewer", ["outcomes-viewer"]) and claims["iss"] == f"{base}/api/fhir"

        server = smart.server
        assert not server.session.cookies  # the library's own session: a bearer token, no cookie
        patient = FPatient.read(smart.patient_id, server)
        assert patient.name[0].family == "Able"
        observations = list(FObservation.where({"patient": smart.patient_id, "code": "http://loinc.org|72514-3"})
                            .perform_resources_iter(server))
        assert len(observations) == 3
        # follow references: the encounter and the clinician who recorded the score
        performer = observations[0].performer[0].resolved(FPractitioner)
        assert performer.name[0].family == "Stone"
        encounter = observations[0].encounter.resolved(FEncounter)
        assert encounter.subject.reference == f"Patient/{c['alice'].id}"

        # the token is limited to Alice: Bob's record is not there (404), a search finds only Alice
        other = httpx2.get(f"{base}/api/fhir/Patient/{c['bob'].id}",
                           headers={"Authorization": f"Bearer {server.auth.access_token}"})
        assert other.status_code == 404
        everyone = next(FObservation.where({}).perform_iter(server))
        assert everyone.total == 3
        # a patient/ scope next to a user/ scope still limits the token to its patient (the narrower wins)
        mixed = _smart(base, "launch/patient patient/Observation.rs user/Practitioner.rs")
        mixed.handle_callback(_approve(base, c["clinician"].email, mixed.authorize_url, patient_id=c["alice"].id))
        mixed_bearer = {"Authorization": f"Bearer {mixed.server.auth.access_token}"}
        assert httpx2.get(f"{base}/api/fhir/Observation", headers=mixed_bearer).json()["total"] == 3
        assert httpx2.get(f"{base}/api/fhir/Practitioner/{c['surgeon'].id}", headers=mixed_bearer).status_code == 200

        # offline_access: the refresh token gives a new access token; the old refresh token is spent
        old_access, old_refresh = server.auth.access_token, server.auth.refresh_token
        assert smart.reauthorize()
        assert server.auth.access_token != old_access
        assert FPatient.read(smart.patient_id, server).id == smart.patient_id
        replay = httpx2.post(f"{base}/api/oauth/token", data={"grant_type": "refresh_token", "client_id":
                                                              "outcomes-viewer", "refresh_token": old_refresh})
        assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"

        # no token, a wrong token: 401 with WWW-Authenticate, as an OperationOutcome
        bad = httpx2.get(f"{base}/api/fhir/Patient", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401 and bad.headers["www-authenticate"].startswith("Bearer")
        assert bad.json()["resourceType"] == "OperationOutcome"

    reads = db.scalars(select(AuditEvent).where(AuditEvent.user_email == c["clinician"].email,
                                                AuditEvent.patient_id == c["alice"].id)).all()
    assert any("FHIR read Patient" in e.description for e in reads)
    assert any(e.description.startswith("SMART token for outcomes-viewer") for e in reads)
    assert db.scalar(select(OAuthToken.access_token_hash).limit(1)) not in (old_access, None)


def test_pkce_is_required_and_the_code_is_bound_to_its_verifier(app, client, db):
    c = _clinic(db)
    _register_app(client, c["admin"].email)
    with served(app, port=APP_PORT) as base:
        smart = _smart(base, "launch/patient patient/*.rs")
        url = smart.authorize_url
        no_pkce = url.replace("code_challenge_method=S256", "code_challenge_method=plain")
        refused = _consent_error(base, c["clinician"].email, no_pkce)
        assert "error=invalid_request" in refused
        redirect = _approve(base, c["clinician"].email, url, patient_id=c["alice"].id)
        code = parse_qs(urlsplit(redirect).query)["code"][0]
        wrong = httpx2.post(f"{base}/api/oauth/token", data={
            "grant_type": "authorization_code", "client_id": "outcomes-viewer", "code": code,
            "redirect_uri": REDIRECT, "code_verifier": "x" * 50})
        assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
        right = httpx2.post(f"{base}/api/oauth/token", data={
            "grant_type": "authorization_code", "client_id": "outcomes-viewer", "code": code,
            "redirect_uri": REDIRECT, "code_verifier": smart.server.auth.code_verifier})
        assert right.status_code == 200, right.text
        assert right.json()["patient"] == str(c["alice"].id) and "refresh_token" not in right.json()
        again = httpx2.post(f"{base}/api/oauth/token", data={
            "grant_type": "authorization_code", "client_id": "outcomes-viewer", "code": code,
            "redirect_uri": REDIRECT, "code_verifier": smart.server.auth.code_verifier})
        assert again.status_code == 400  # a code is good once


def _consent_error(base: str, email: str, url: str) -> str:
    with httpx2.Client(base_url=base, timeout=30) as browser:
        browser.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        answer = browser.get(url)
        assert answer.status_code == 303, answer.text
        return answer.headers["location"]


def test_ehr_launch_from_the_record_page_and_a_patient_s_own_launch(app, client, db):
    c = _clinic(db)
    _register_app(client, c["admin"].email, launch_url="http://127.0.0.1:8409/launch",
                  scope="launch launch/patient openid fhirUser patient/*.rs user/*.rs user/*.cu")
    with served(app, port=APP_PORT) as base:
        with httpx2.Client(base_url=base, timeout=30) as browser:
            csrf = browser.post("/api/auth/login", json={"email": c["clinician"].email,
                                                         "password": PASSWORD}).json()["csrf_token"]
            record = browser.get(f"/patients/{c['alice'].id}")
            assert "Open Outcomes Viewer" in record.text
            opened = browser.post(f"/patients/{c['alice'].id}/launch",
                                  data={"csrf_token": csrf, "client_id": "outcomes-viewer"})
            assert opened.status_code == 303
        launch = parse_qs(urlsplit(opened.headers["location"]).query)
        assert launch["iss"] == [f"{base}/api/fhir"]
        smart = _smart(base, "launch openid fhirUser user/*.rs user/Observation.c", launch_token=launch["launch"][0])
        redirect = _approve(base, c["clinician"].email, smart.authorize_url)  # no picker: the launch names her
        smart.handle_callback(redirect)
        assert smart.patient_id == str(c["alice"].id)
        # user/ scopes: what the clinician may see, so the search reaches both patients
        assert next(FObservation.where({}).perform_iter(smart.server)).total == 4
        # it may create Observations (user/Observation.c), and nothing else
        bearer = {"Authorization": f"Bearer {smart.server.auth.access_token}", "Content-Type": "application/fhir+json"}
        pain = {"resourceType": "Observation", "status": "final", "subject": {"reference": f"Patient/{c['alice'].id}"},
                "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]}, "valueQuantity": {"value": 2}}
        assert httpx2.post(f"{base}/api/fhir/Observation", json=pain, headers=bearer).status_code == 201
        batch = {"resourceType": "Bundle", "type": "transaction",
                 "entry": [{"request": {"method": "POST", "url": "Observation"}, "resource": pain}]}
        imported = httpx2.post(f"{base}/api/fhir", json=batch, headers=bearer)
        assert imported.status_code == 200 and imported.json()["type"] == "transaction-response", imported.text
        condition = {"resourceType": "Condition", "subject": {"reference": f"Patient/{c['alice'].id}"},
                     "code": {"coding": [{"system": "http://snomed.info/sct", "code": "1", "display": "x"}]}}
        refused = httpx2.post(f"{base}/api/fhir/Condition", json=condition, headers=bearer)
        assert refused.status_code == 403 and refused.json()["issue"][0]["expression"] == ["scope"]

        # a patient signs in to an app standalone: their own record is the context, no picker
        own = _smart(base, "launch/patient patient/*.rs")
        own.handle_callback(_approve(base, c["patient"].email, own.authorize_url))
        assert own.patient_id == str(c["bob"].id)
        assert next(FObservation.where({}).perform_iter(own.server)).total == 1
        # scopes are enforced: patient/Observation.rs does not read Encounters
        narrow = _smart(base, "launch/patient patient/Observation.rs")
        narrow.handle_callback(_approve(base, c["patient"].email, narrow.authorize_url))
        refused = httpx2.get(f"{base}/api/fhir/Encounter",
                             headers={"Authorization": f"Bearer {narrow.server.auth.access_token}"})
        assert refused.status_code == 403 and refused.json()["issue"][0]["code"] == "forbidden"


def _backend(client, admin_email: str) -> RSAKey:  # type: ignore[no-untyped-def]
    key = RSAKey.generate_key(2048, private=True, auto_kid=True)
    login(client, admin_email)
    response = client.post("/api/smart-clients", json={
        "client_id": "registry-exporter", "name": "Registry exporter", "kind": "smart-backend",
        "jwks": {"keys": [key.as_dict(private=False)]}})
    assert response.status_code == 201, response.text
    client.post("/api/auth/logout")
    client.cookies.clear()
    return key


def _assertion(key: RSAKey, token_url: str, jti: str | None = None) -> str:
    now = int(time.time())
    return jwt.encode({"alg": "RS384", "kid": key.kid, "typ": "JWT"},
                      {"iss": "registry-exporter", "sub": "registry-exporter", "aud": token_url, "iat": now,
                       "exp": now + 300, "jti": jti or str(uuid.uuid4())}, key, algorithms=["RS384"])


def test_backend_services_get_system_scopes_with_a_signed_assertion_once(app, client, db):
    c = _clinic(db)
    key = _backend(client, c["admin"].email)
    with served(app, port=APP_PORT) as base:
        token_url = f"{base}/api/oauth/token"
        assertion = _assertion(key, token_url)
        smart = fhir_client.FHIRClient(settings={"app_id": "registry-exporter", "api_base": f"{base}/api/fhir",
                                                 "jwt_token": assertion, "scope": "system/*.rs"})
        smart.wants_patient = False
        smart.prepare()
        smart.authorize()
        assert smart.server.auth.access_token
        assert next(FObservation.where({}).perform_iter(smart.server)).total == 4  # the whole organisation
        # the same assertion again is a replay: refused
        again = httpx2.post(token_url, data={
            "grant_type": "client_credentials", "scope": "system/*.rs",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion})
        assert again.status_code in (400, 401) and again.json()["error"] == "invalid_client"
        # a key it did not register: refused
        stranger = RSAKey.generate_key(2048, private=True, auto_kid=True)
        forged = httpx2.post(token_url, data={
            "grant_type": "client_credentials", "scope": "system/*.rs",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": _assertion(stranger, token_url)})
        assert forged.status_code in (400, 401) and forged.json()["error"] == "invalid_client"
    entries = db.scalars(select(AuditEvent).where(AuditEvent.user_email == "smart-backend:registry-exporter")).all()
    assert {e.patient_id for e in entries} == {c["alice"].id, c["bob"].id}


def test_spent_codes_and_tokens_are_forgotten(db):
    from hindfoot.db.models import OAuthCode
    from hindfoot.fhir import smart

    c = _clinic(db)
    past, future = datetime.now(UTC) - timedelta(hours=2), datetime.now(UTC) + timedelta(hours=2)
    db.add(OAuthCode(code_hash="a" * 64, client_id="x", user_id=c["clinician"].id, redirect_uri=REDIRECT, scope="",
                     code_challenge="c", code_challenge_method="S256", expires_at=past))
    for i, (expires, refresh, revoked) in enumerate([(past, None, False), (past, future, False), (past, future, True),
                                                     (future, None, False)]):
        db.add(OAuthToken(access_token_hash=str(i) * 64, client_id="x", user_id=c["clinician"].id, scope="",
                          expires_at=expires, refresh_expires_at=refresh, revoked=revoked))
    db.flush()
    smart.prune(db)
    db.commit()
    assert db.scalars(select(OAuthCode)).all() == []
    # kept: a token still refreshable, and one still valid
    assert sorted(t.access_token_hash[0] for t in db.scalars(select(OAuthToken))) == ["1", "3"]
