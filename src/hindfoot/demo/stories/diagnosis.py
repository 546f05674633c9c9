"""Before treatment: enquiry, history, assessment, imaging and investigation."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hindfoot.db.models import Condition, DiagnosticReport, Encounter, ImagingStudy
from hindfoot.demo.patients import CONDITION_CODES, PICTURES, PLANTARFLEXION_SPORTS
from hindfoot.demo.stories.follow_up import FollowUp


def _finding_groups() -> dict[str, str]:
    from hindfoot.patients.codes import vocabulary

    return {f["id"]: group for group, items in vocabulary()["findings"].items() for f in items}


class Diagnosis(FollowUp):
    def _enquiry(self) -> None:
        s = self.s
        when = self.b.at(self.E, self.rng.randint(8, 21), self.rng.choice([0, 15, 30, 45]))
        how = self.rng.choice(["Booked online", "Booked by telephone", "Booked online after a physiotherapist's advice"])
        if self.E.weekday() >= 5 and "telephone" in how:
            how = "Booked online"
        elif "telephone" in how:
            when = self.b.at(self.E, self.rng.randint(9, 16), self.rng.choice([0, 15, 30, 45]))
        complaint = {
            "posterior_ankle_impingement": f"pain at the back of the {self.ankle} when pointing the foot ({self.sport_text})",
            "anterior_ankle_impingement": f"pain at the front of the {self.ankle} when squatting and kicking",
            "fhl_tenosynovitis": f"pain behind the inner {self.ankle} and big toe in relevé",
            "achilles_tendinopathy_midportion": f"painful {self.side} Achilles tendon, worse in the morning",
            "lateral_ankle_sprain": f"rolled the {self.ankle} {self.rng.randint(2, 6)} days ago",
            "plantar_fasciitis": f"pain under the {self.side} heel with the first steps in the morning",
            "stress_fracture": f"{self.side} heel pain building up with training",
        }[s.condition]
        self.event("enquiry", when, f"{how}: {complaint}. No referral needed.",
                   "aldridge" if "telephone" in how else None)
        # self-reported history from the online booking form
        self.history(when, self_reported=True)
        if s.stage == "enquiry":
            self.proms("baseline", self.E, severity=self.rng.uniform(0.5, 0.7))
            self.b.book(self, self.clinician, "new_consultation", self.E + timedelta(days=self.rng.randint(5, 12)),
                        "New consultation: " + complaint)

    def history(self, when: datetime, *, self_reported: bool = False, enc: Encounter | None = None) -> None:
        pic = PICTURES[self.s.condition]
        if not hasattr(self, "_findings"):
            rng = self.rng
            present = set(pic["always"])
            for fid, p in pic["maybe"].items():
                if rng.random() < p:
                    present.add(fid)
            absent = set(pic["absent"])
            if self.s.condition == "posterior_ankle_impingement":
                if self.s.sport in PLANTARFLEXION_SPORTS or rng.random() < 0.3:
                    present.add("repetitive_forced_plantarflexion")
                if self.s.variant == "soft_tissue":
                    present |= {"after_ankle_sprain", "injury_inversion"}
                    present.discard("onset_gradual")
                else:
                    absent.add("after_ankle_sprain")
                present.add("duration_over_3_months")
            self._findings = (present, absent - present)
        groups = _finding_groups()
        present, absent = self._findings
        for fid in sorted(present | absent):
            group = groups[fid]
            if self_reported and group != "history":
                continue
            if not self_reported and group not in ("history", "exam"):
                continue
            if self_reported and fid in absent:
                continue
            self.observe(group, fid, fid in present, when, enc=enc,
                         performer=None if self_reported else self.clinician,
                         note="Self-reported on the booking form" if self_reported else "")

    def _assessment(self) -> None:
        s = self.s
        enc = self.b.visit(self, self.clinician, "new_consultation", self.A,
                           "New consultation", "History and examination; plan discussed.")
        assert enc is not None
        self.A = enc.start.date()
        self.assessment_enc = enc
        self.history(enc.start + timedelta(minutes=20), enc=enc)
        self.proms("baseline", self.A, severity=self.rng.uniform(0.5, 0.72), when=enc.start - timedelta(hours=2))
        snomed, icd, display = CONDITION_CODES[s.condition]
        self.condition = self.b.add(Condition(
            patient_id=self.patient.id, episode_id=self.episode.id, code=s.condition, display=display,
            snomed_code=snomed, icd10_code=icd, clinical_status="active", verification_status="provisional",
            laterality=self.side, onset_date=self.E - timedelta(days=self.rng.randint(60, 300))
            if s.condition != "lateral_ankle_sprain" else self.E - timedelta(days=self.rng.randint(2, 6)),
            recorded_at=enc.start + timedelta(minutes=35), recorder_id=self.b.prac[self.clinician].id,
            note="Clinical diagnosis at first consultation.",
        ))
        self.event("assessment", enc.end, f"Seen by {self.b.prac[self.clinician].display_name}: provisional "
                   f"{display.lower()}.", self.clinician)
        if s.stage == "assessment":
            if s.condition == "lateral_ankle_sprain":
                self.b.book(self, self.physio, "physiotherapy", self.A + timedelta(days=3),
                            "Early functional rehabilitation after sprain")
            else:
                self.b.book(self, "lindqvist", "imaging", self.A + timedelta(days=self.rng.randint(3, 8)),
                            "MRI ankle")
        elif s.condition == "lateral_ankle_sprain":
            pass

    def _imaging(self, modality: str, day: date, findings: dict[str, bool], description: str,
                 conclusion: str, *, at: Encounter | None = None) -> None:
        if at is not None:  # in-clinic X-ray straight after the consultation
            start, end = at.end + timedelta(minutes=10), at.end + timedelta(minutes=25)
            loc = next(k for k, v in self.b.loc.items() if v.id == at.location_id)
        else:
            found = (self.b.slot("lindqvist", "imaging", day, direction=1, not_before=self.A + timedelta(days=1),
                                 not_after=self.today - timedelta(days=1))
                     or self.b.slot("lindqvist", "imaging", day, direction=-1, not_before=self.A + timedelta(days=1),
                                    not_after=self.today - timedelta(days=1)))
            if found is None:
                return
            start, end, loc = found
        study = self.b.add(ImagingStudy(
            patient_id=self.patient.id, episode_id=self.episode.id, modality=modality, description=description,
            laterality=self.side, started_at=start, location_id=self.b.loc[loc].id,
        ))
        report = self.b.add(DiagnosticReport(
            patient_id=self.patient.id, episode_id=self.episode.id, imaging_study_id=study.id, category="imaging",
            code=f"{modality.lower()}_ankle", conclusion=conclusion, issued_at=end + timedelta(hours=3),
            performer_id=self.b.prac["lindqvist"].id,
        ))
        for fid, present in findings.items():
            self.observe("imaging", fid, present, end + timedelta(hours=3), report=report, performer="lindqvist")

    def _imaging_findings(self) -> tuple[dict[str, bool], str, dict[str, bool], str, str]:
        """(X-ray findings, X-ray conclusion, MRI findings, MRI conclusion, MRI modality)."""
        rng, v, c = self.rng, self.s.variant, self.s.condition
        if c == "posterior_ankle_impingement":
            xr = {"xray_os_trigonum": v == "os_trigonum", "xray_stieda_process": v == "stieda",
                  "xray_fracture": False}
            xr_text = {"os_trigonum": f"Lateral {self.ankle}: well-corticated os trigonum, {rng.randint(7, 14)} mm. No fracture.",
                       "stieda": f"Lateral {self.ankle}: elongated posterolateral talar process (Stieda process). No fracture.",
                       "soft_tissue": f"{self.ankle.capitalize()}: no bony abnormality, no os trigonum."}[v]
            mri = {"mri_posterior_bone_oedema": v != "soft_tissue" and rng.random() < 0.75,
                   "mri_posterior_synovitis": v == "soft_tissue" or rng.random() < 0.6,
                   "mri_fhl_tenosynovitis": rng.random() < 0.4}
            parts = []
            if mri["mri_posterior_bone_oedema"]:
                parts.append("bone marrow oedema across the os trigonum synchondrosis" if v == "os_trigonum"
                             else "oedema in the posterior talar process")
            if mri["mri_posterior_synovitis"]:
                parts.append("posterior synovitis and capsular thickening")
            if mri["mri_fhl_tenosynovitis"]:
                parts.append("fluid in the FHL tendon sheath")
            text = "; ".join(parts) or "posterior soft-tissue thickening only"
            return xr, xr_text, mri, f"Findings consistent with posterior ankle impingement: {text}.", "MR"
        if c == "anterior_ankle_impingement":
            return ({"xray_anterior_osteophytes": True, "xray_os_trigonum": False},
                    "Anterior tibial and talar neck osteophytes ('kissing spurs').",
                    {"mri_osteochondral_lesion": False},
                    "Anterolateral synovitis; no osteochondral lesion.", "MR")
        if c == "fhl_tenosynovitis":
            return ({"xray_os_trigonum": False}, "No os trigonum; normal ankle.",
                    {"mri_fhl_tenosynovitis": True, "mri_posterior_bone_oedema": False},
                    "Fluid and thickening around the FHL tendon at the fibro-osseous tunnel; no bony impingement.", "MR")
        if c == "achilles_tendinopathy_midportion":
            return ({}, "", {"mri_achilles_tendinosis": True, "imaging_achilles_rupture": False},
                    "Fusiform thickening of the mid-portion Achilles tendon (9 mm) with neovascularity; no tear.", "US")
        if c == "stress_fracture":
            return ({"xray_fracture": False}, "No fracture line visible.",
                    {"mri_stress_reaction": True},
                    "Calcaneal stress fracture: band of marrow oedema with a low-signal fracture line.", "MR")
        if c == "lateral_ankle_sprain":
            return ({}, "", {"mri_lateral_ligament_tear": True},
                    "Ultrasound: partial-thickness tear of the anterior talofibular ligament; CFL intact.", "US")
        if c == "plantar_fasciitis":
            return ({}, "", {},
                    "Plantar fascia thickened (6 mm) at the medial calcaneal tubercle.", "US")
        return {}, "", {}, "", "MR"

    def _investigation(self) -> None:
        xr, xr_text, mri, mri_text, modality = self._imaging_findings()
        if xr:
            self._imaging("XR", self.A, xr, f"{self.ankle.capitalize()}, weight-bearing AP and lateral", xr_text,
                          at=self.assessment_enc)
        when = self.assessment_enc.end + timedelta(minutes=30)
        self.event("investigation", when, "Imaging requested: " + (
            "X-ray done in clinic, MRI booked." if xr and modality == "MR" else
            "ultrasound booked." if modality == "US" else "MRI booked."), self.clinician)
        mri_day = self.MRI or (self.A + timedelta(days=self.rng.randint(3, 8)))
        label = "MRI" if modality == "MR" else "Ultrasound"
        if mri_day <= self.today - timedelta(days=1):
            self._imaging(modality, mri_day, mri, f"{label} {self.ankle}", mri_text)
            self.MRI = mri_day
        else:
            self.b.book(self, "lindqvist", "imaging", mri_day, f"{label} {self.ankle}")
            self.MRI = None
        if self.s.stage == "investigation":
            self.b.book(self, self.clinician, "follow_up", (self.MRI or mri_day) + timedelta(days=5),
                        "Results of investigations")
