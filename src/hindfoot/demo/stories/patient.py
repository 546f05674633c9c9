"""A whole patient story: every stage up to the one the script says the patient has reached."""

from __future__ import annotations

from hindfoot.db.models import EpisodeOfCare
from hindfoot.demo.patients import CONDITION_CODES
from hindfoot.demo.stories.surgical import Surgical


class PatientStory(Surgical):
    """One patient's story, written forward in time from the first contact."""

    def build(self) -> None:
        s = self.s
        self._identity()
        self._dates()
        self.clinician = ("okafor" if s.condition in {"achilles_tendinopathy_midportion", "plantar_fasciitis",
                                                       "stress_fracture", "lateral_ankle_sprain"}
                          or (s.stage in {"enquiry", "assessment", "investigation", "conservative_care"}
                              and self.rng.random() < 0.35)
                          else ("raman" if s.sport in {"ballet", "contemporary_dance", "gymnastics"}
                                or self.rng.random() < 0.3 else "whitlock"))
        self.surgeon = self.clinician if self.clinician != "okafor" else (
            "raman" if s.sport in {"ballet", "contemporary_dance"} else "whitlock")
        self.physio = "ellis" if s.sport in {"ballet", "contemporary_dance", "gymnastics"} else "boateng"
        cond_name = CONDITION_CODES[s.condition][2]
        variant = {"os_trigonum": " (os trigonum)", "stieda": " (Stieda process)",
                   "soft_tissue": " (soft-tissue, after sprain)"}.get(s.variant, "")
        self.episode = self.b.add(EpisodeOfCare(
            patient_id=self.patient.id, organization_id=self.b.org.id,
            title=f"{self.side.capitalize()} {cond_name.lower() if s.condition != 'posterior_ankle_impingement' else 'posterior ankle impingement'}{variant}",
            condition_code=s.condition, laterality=self.side, stage=s.stage,
            status="finished" if s.stage == "discharged" else "active",
            period_start=self.E, care_manager_id=self.b.prac[self.clinician].id,
        ))
        self.stage = None
        self.condition = None
        self._enquiry()
        if s.stage == "enquiry":
            return
        self._assessment()
        if s.stage == "assessment":
            return
        self._investigation()
        if s.stage == "investigation":
            return
        self._conservative()
        if s.stage == "conservative_care":
            return
        if s.conservative_success:
            return self._conservative_outcome()
        self._listing()
        if s.stage == "surgical_listing":
            return
        self._surgery()
        if s.stage == "surgery":
            return
        self._post_op()
        if s.stage == "post_op":
            return
        self._rehab()
        if s.stage != "rehabilitation":
            self._returned()
            if s.stage == "discharged":
                self._discharged()
        self.post_op_proms()
