"""Pathway service: facts from the stored record, transitions stored append-only, documentation."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pathway_helpers import make_clinic
from sqlalchemy import select

from hindfoot.db.models import AuditEvent, Condition, ImagingStudy, PathwayEvent, Procedure
from hindfoot.errors import AccessDenied, Conflict, InvalidInput
from hindfoot.pathway import service as pathway_service
from hindfoot.pathway.machine import Stage, TransitionRefused

TODAY = date(2026, 3, 1)


def _events(db, episode):
    return list(db.scalars(select(PathwayEvent).where(PathwayEvent.episode_id == episode.id)
                           .order_by(PathwayEvent.recorded_at)).all())


def test_facts_come_from_the_stored_record(db):
    c = make_clinic(db)
    db.add(ImagingStudy(patient_id=c.patient.id, episode_id=c.episode.id, modality="XR", description="lateral",
                        started_at=datetime(2026, 1, 3, tzinfo=UTC)))
    db.add(Procedure(patient_id=c.patient.id, episode_id=c.episode.id, code="image_guided_injection",
                     display="Injection", status="completed", performed_at=datetime(2026, 1, 20, tzinfo=UTC)))
    db.flush()
    data = pathway_service.load_episode_data(db, c.episode)
    facts = pathway_service.episode_facts(data, TODAY)
    assert facts.stage is Stage.CONSERVATIVE_CARE
    assert "hyperplantarflexion_test_positive" in facts.present
    assert facts.imaging_done == frozenset({"xray", "injection"})
    assert facts.injections == 1 and facts.level == "professional" and facts.sport == "ballet"
    assert not facts.confirmed_diagnosis and not facts.consent_recorded
    pf = pathway_service.pathway_facts(data, TODAY)
    assert pf.assessment_recorded and pf.injection_done and not pf.procedure_recorded
    assert pf.conservative_weeks == pytest.approx((TODAY - date(2026, 1, 20)).days / 7)


def test_listing_is_refused_with_every_reason_and_nothing_is_stored(db):
    c = make_clinic(db)
    with pytest.raises(TransitionRefused) as err:
        pathway_service.apply_transition(db, c.doc, c.episode.id, "surgical_listing", today=TODAY)
    assert len(err.value.reasons) == 2
    assert any("diagnosis is not confirmed" in r for r in err.value.reasons)
    assert any("failed conservative care" in r for r in err.value.reasons)
    assert c.episode.stage == "conservative_care"
    assert _events(db, c.episode) == []


def test_conservative_care_to_post_op_stores_each_move_with_who_and_why(db):
    c = make_clinic(db)
    condition = pathway_service.confirm_diagnosis(db, c.doc, c.episode.id, note="MRI reviewed")
    assert condition.verification_status == "confirmed" and "MRI reviewed" in condition.note
    pathway_service.document(db, c.doc, c.episode.id, "conservative_care_failed", note="10 weeks, injection")
    first = pathway_service.apply_transition(db, c.doc, c.episode.id, "surgical_listing", reason="agreed",
                                             expected_stage="conservative_care", today=TODAY)
    assert first.from_stage == "conservative_care" and first.to_stage == "surgical_listing"
    assert first.recorded_by_id == c.doctor.id and first.recorded_at is not None
    assert "agreed" in first.reason and "conservative care documented as failed" in first.reason

    with pytest.raises(TransitionRefused) as err:
        pathway_service.apply_transition(db, c.doc, c.episode.id, "surgery", today=TODAY)
    assert err.value.reasons == ("informed consent is not recorded",)
    pathway_service.record_consent(db, c.doc, c.episode.id, note="risks discussed")
    pathway_service.apply_transition(db, c.doc, c.episode.id, "surgery", today=TODAY)
    with pytest.raises(TransitionRefused):
        pathway_service.apply_transition(db, c.doc, c.episode.id, "post_op", today=TODAY)
    pathway_service.record_procedure(db, c.doc, c.episode.id, "posterior_arthroscopic_excision",
                                     performed_on=TODAY, today=TODAY)
    pathway_service.apply_transition(db, c.doc, c.episode.id, "post_op", today=TODAY)

    events = _events(db, c.episode)
    assert [(e.from_stage, e.to_stage) for e in events] == [
        ("conservative_care", "surgical_listing"), ("surgical_listing", "surgery"), ("surgery", "post_op")]
    assert c.episode.stage == "post_op"
    audits = db.scalars(select(AuditEvent.description).where(AuditEvent.patient_id == c.patient.id)).all()
    assert "pathway conservative_care -> surgical_listing" in audits
    assert any("surgical consent recorded" in a for a in audits)


def test_override_listing_and_withdrawn_consent(db):
    c = make_clinic(db)
    pathway_service.confirm_diagnosis(db, c.doc, c.episode.id)
    event = pathway_service.apply_transition(db, c.doc, c.episode.id, "surgical_listing",
                                             override_reason="displaced fragment", today=TODAY)
    assert "clinician override: displaced fragment" in event.reason
    pathway_service.record_consent(db, c.doc, c.episode.id)
    pathway_service.record_consent(db, c.doc, c.episode.id, given=False, note="wants to wait")
    view = pathway_service.get_pathway(db, c.doc, c.episode.id, today=TODAY)
    assert not view.pathway.consent_recorded
    surgery = next(o for o in view.options if o.target is Stage.SURGERY)
    assert not surgery.allowed and surgery.blocked_reasons == ("informed consent is not recorded",)


def test_stale_form_and_discharge_reason(db):
    c = make_clinic(db)
    with pytest.raises(TransitionRefused) as err:
        pathway_service.apply_transition(db, c.doc, c.episode.id, "discharged", reason="better",
                                         expected_stage="assessment", today=TODAY)
    assert "since the page was loaded" in err.value.reasons[0]
    with pytest.raises(TransitionRefused) as err:
        pathway_service.apply_transition(db, c.doc, c.episode.id, "discharged", today=TODAY)
    assert err.value.reasons == ("a discharge reason is required",)
    pathway_service.apply_transition(db, c.doc, c.episode.id, "discharged", reason="symptom-free", today=TODAY)
    assert c.episode.status == "finished" and c.episode.period_end == TODAY
    with pytest.raises(InvalidInput):
        pathway_service.apply_transition(db, c.doc, c.episode.id, "nowhere", today=TODAY)


def test_view_shows_next_steps_with_cited_sources(db):
    c = make_clinic(db, stage="assessment")
    view = pathway_service.get_pathway(db, c.me, c.episode.id, today=TODAY)  # the patient may look
    ids = [r.recommendation.id for r in view.recommendations]
    assert "order_lateral_xray" in ids
    xray = next(r for r in view.recommendations if r.recommendation.id == "order_lateral_xray")
    assert [cit.key for cit in xray.citations] == ["S0", "S1"]
    assert all(cit.label and cit.label != "unknown source" for cit in xray.citations)


def test_patients_cannot_change_the_pathway_and_other_clinics_cannot_see_it(db):
    c = make_clinic(db)
    with pytest.raises(AccessDenied):
        pathway_service.apply_transition(db, c.me, c.episode.id, "discharged", reason="x", today=TODAY)
    with pytest.raises(AccessDenied):
        pathway_service.record_consent(db, c.me, c.episode.id)
    other = make_clinic(db, doctor_email="other@example.org", patient_email="p2@example.org")
    with pytest.raises(AccessDenied):
        pathway_service.get_pathway(db, other.doc, c.episode.id)


def test_confirm_needs_a_diagnosis_and_procedures_cannot_be_future(db):
    c = make_clinic(db, diagnosis=False)
    with pytest.raises(Conflict):
        pathway_service.confirm_diagnosis(db, c.doc, c.episode.id)
    with pytest.raises(InvalidInput) as err:
        pathway_service.record_procedure(db, c.doc, c.episode.id, "open_excision", performed_on=date(2026, 3, 2),
                                         today=TODAY)
    assert err.value.field == "performed_on"
    db.add(Procedure(patient_id=c.patient.id, episode_id=c.episode.id, code="open_excision", display="x",
                     status="preparation"))
    db.flush()
    pathway_service.record_procedure(db, c.doc, c.episode.id, "open_excision", performed_on=TODAY, today=TODAY)
    statuses = sorted(db.scalars(select(Procedure.status).where(Procedure.episode_id == c.episode.id)).all())
    assert statuses == ["completed", "not-done"]
    assert db.scalars(select(Condition)).all() == []
