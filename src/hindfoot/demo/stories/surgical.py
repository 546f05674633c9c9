"""Surgery: listing (and a cancelled date), the operation, post-op, rehabilitation, return to
sport, discharge.
"""

from __future__ import annotations

from datetime import date, timedelta

from hindfoot.db.models import Appointment, Encounter, Observation, Procedure
from hindfoot.db.models.procedure import PROCEDURES
from hindfoot.demo.patients import PROCEDURE_CPT
from hindfoot.demo.stories.conservative import Conservative


class Surgical(Conservative):
    def _listing(self) -> None:
        s, rng = self.s, self.rng
        enc = self.b.visit(self, self.surgeon, "follow_up", self.L, "Surgical opinion",
                           "Persistent posterior pain despite structured rehabilitation and injection. Options "
                           "discussed; consented for posterior ankle arthroscopy (risks incl. sural nerve "
                           "numbness ~1-5%, infection <1%).")
        assert enc is not None
        self.L = enc.start.date()
        self.observe("measurement", "surgical_consent", True, enc.end, enc=enc, performer=self.surgeon,
                     note="Informed consent for posterior ankle surgery: risks, benefits and alternatives discussed.")
        self.event("surgical_listing", enc.end, f"Failed {((self.L - self.C).days) // 7} weeks of conservative care "
                   "incl. image-guided injection; listed for " + PROCEDURES[s.procedure or "posterior_arthroscopic_excision"].lower()
                   + ".", self.surgeon)
        if s.stage == "surgical_listing":
            self.S = self.L + timedelta(days=rng.randint(24, 40))
            self.b.book(self, self.surgeon, "day_case_surgery", self.S, PROCEDURES[s.procedure or ""])
            self.b.book(self, "oneill", "nurse_dressing", self.S - timedelta(days=7), "Pre-operative assessment")
            if not self.b.cancel_done:
                self._cancelled(self.L + timedelta(days=10))

    def _cancelled(self, day: date) -> None:
        found = self.b.slot(self.physio, "physiotherapy", day, direction=1, not_before=self.today + timedelta(days=1))
        if found is None:
            return
        start, end, loc = found
        self.b.add(Appointment(
            patient_id=self.patient.id, practitioner_id=self.b.prac[self.physio].id, location_id=self.b.loc[loc].id,
            episode_id=self.episode.id, service_type="physiotherapy", status="cancelled", start=start, end=end,
            reason="Pre-habilitation session", cancelled_at=self.b.at(self.today, 9, 12),
            cancellation_reason="Cancelled by patient: away for work. Rebooking online.",
        ))
        self.b.cancel_done = True

    def _surgery(self) -> None:
        s = self.s
        weekend = self.today.weekday() >= 5  # no theatre list today: operate on the next list instead
        if s.stage == "surgery" and ((s.surgery_ago or 0) < 0 or weekend):  # operation in the next days
            found = self.b.slot(self.surgeon, "day_case_surgery", self.today + timedelta(days=1), direction=1,
                                not_before=self.today + timedelta(days=1))
            assert found is not None
            start, end, loc = found
            self.b.add(Appointment(
                patient_id=self.patient.id, practitioner_id=self.b.prac[self.surgeon].id,
                location_id=self.b.loc[loc].id, episode_id=self.episode.id, service_type="day_case_surgery",
                status="booked", start=start, end=end, reason=PROCEDURES[s.procedure or ""],
            ))
            pre = self.b.visit(self, "oneill", "nurse_dressing", self.today - timedelta(days=3),
                               "Pre-operative assessment", "Fit for day-case surgery; crutch training done.")
            self.event("surgery", pre.end if pre else self.b.at(self.today, 9),
                       f"Pre-operative assessment complete; surgery on {start.date().isoformat()}.", "oneill")
            self.b.add(Procedure(
                patient_id=self.patient.id, episode_id=self.episode.id, code=s.procedure, display=PROCEDURES[s.procedure or ""],
                cpt_code=PROCEDURE_CPT[s.procedure or ""], status="preparation", performed_at=None,
                performer_id=self.b.prac[self.surgeon].id, location_id=self.b.loc[loc].id, laterality=self.side,
                note=f"Scheduled {start.date().isoformat()}, {self.b.loc[loc].name}.",
            ))
            return
        day = self.S
        enc = None
        # on today's theatre list when the surgeon has one today that has already begun; else their last list
        found = self.b.slot(self.surgeon, "day_case_surgery", day, direction=-1, not_after=day,
                            not_before=day) if day == self.today else None
        if found is not None and found[0] <= self.b.now:
            start, end, loc = found
            enc = self.b.add(Encounter(
                patient_id=self.patient.id, episode_id=self.episode.id, practitioner_id=self.b.prac[self.surgeon].id,
                location_id=self.b.loc[loc].id, type="day_case_surgery",
                status="finished" if end <= self.b.now else "in-progress", start=start,
                end=end, reason=PROCEDURES[s.procedure or ""], note="Day case, general anaesthetic.",
            ))
            self.b.add(Appointment(
                patient_id=self.patient.id, practitioner_id=self.b.prac[self.surgeon].id,
                location_id=self.b.loc[loc].id, episode_id=self.episode.id, service_type="day_case_surgery",
                status="arrived", start=start, end=end, reason=PROCEDURES[s.procedure or ""],
                checked_in_at=start - timedelta(hours=1),
            ))
        else:
            enc = self.b.visit(self, self.surgeon, "day_case_surgery", day, PROCEDURES[s.procedure or ""],
                               "Day case, general anaesthetic; prone, thigh tourniquet.")
        assert enc is not None
        self.S = enc.start.date()
        self.event("surgery", enc.start - timedelta(hours=1), "Admitted for day-case surgery.", self.surgeon)
        open_ = s.procedure == "open_excision"
        self.b.add(Procedure(
            patient_id=self.patient.id, episode_id=self.episode.id, code=s.procedure, display=PROCEDURES[s.procedure or ""],
            cpt_code=PROCEDURE_CPT[s.procedure or ""], status="completed", performed_at=enc.start + timedelta(minutes=20),
            performer_id=self.b.prac[self.surgeon].id, location_id=enc.location_id, laterality=self.side,
            complication=s.complication,
            note=("Posterolateral approach; " if open_ else "Two posterior portals; ")
            + {"os_trigonum": "os trigonum excised, FHL sheath released.", "stieda": "Stieda process resected with burr.",
               "soft_tissue": "posterior synovitis and scarred capsule debrided, FHL free."}.get(s.variant, ""),
        ))
        self._confirm(enc.end, "arthroscopy" if s.procedure != "open_excision" else "operation")
        self.surgery_enc = enc

    def _post_op(self) -> None:
        s, rng = self.s, self.rng
        self.event("post_op", self.surgery_enc.end + timedelta(hours=3),
                   "Discharged home the same day: weight-bearing as tolerated with crutches, dressings every "
                   "other day by the nurse.", self.surgeon)
        self.recovery_plan()
        for k in range(1, 7):
            day = self.S + timedelta(days=2 * k)
            if day > self.today:
                self.b.book(self, "oneill", "nurse_dressing", day, "Dressing change" if k < 6 else "Wound check, sutures out")
                break
            note = "Wounds clean and dry; dressing changed." if k < 6 else "Wounds healed; sutures removed."
            if s.complication and "infection" in s.complication and k == 3:
                note = "Mild erythema at lateral portal; swab taken, flucloxacillin started."
            self.b.visit(self, "oneill", "nurse_dressing", day,
                         "Dressing change" if k < 6 else "Wound check, sutures out", note, direction=1)
        if self.today - self.S < timedelta(days=14):
            self.b.book(self, self.surgeon, "follow_up", self.S + timedelta(days=14), "Two-week post-operative review")
        pain = max(0, round(4 - (self.today - self.S).days / 3 + rng.uniform(-1, 1)))
        self.b.add(Observation(
            patient_id=self.patient.id, episode_id=self.episode.id, category="score", code="pain.nrs",
            value_quantity=float(pain), value_unit="/10", effective_at=self.b.at(min(self.today, self.S + timedelta(days=2)), 10),
            note="Reported at nurse dressing visit.",
        ))
        self.rts_obs("not_returned", None, self.b.at(min(self.today, self.S + timedelta(days=2)), 10))

    def _rehab(self) -> None:
        s, rng = self.s, self.rng
        start = self.S + timedelta(days=rng.randint(12, 15))
        enc = self.b.visit(self, self.surgeon, "follow_up", self.S + timedelta(days=14), "Two-week post-operative review",
                           "Wounds healed, walking without crutches. Start structured rehabilitation."
                           + (" Numbness over the lateral border of the foot (sural territory): reassured, "
                              "expected to recover." if s.complication and "sural" in s.complication else ""))
        when = enc.end if enc else self.b.at(start, 17)
        self.event("rehabilitation", when, "Crutches off, wounds healed: phase 2 rehabilitation (motion and gait).",
                   self.surgeon)
        end = min(self.today, self.rts_planned - timedelta(days=3))
        day = start + timedelta(days=2)
        k = 0
        while day <= end:
            k += 1
            phase = ("motion and gait" if (day - self.S).days < 42 else "loading and running"
                     if (day - self.S).days < 63 else "return-to-sport drills")
            self.b.visit(self, self.physio, "physiotherapy", day, f"Post-operative physiotherapy {k}",
                         f"Phase: {phase}.")
            day += timedelta(days=rng.randint(5, 8))
        if self.today - self.S >= timedelta(days=45):
            self.b.visit(self, self.surgeon, "follow_up", self.S + timedelta(days=45), "Six-week review",
                         "Full range of motion returning; cleared for sport-specific rehabilitation.")
        if s.stage == "rehabilitation":
            self.b.book(self, self.physio, "physiotherapy", self.today + timedelta(days=rng.randint(1, 5)),
                        "Post-operative physiotherapy")
            if self.today - self.S < timedelta(days=45):
                self.b.book(self, self.surgeon, "follow_up", self.S + timedelta(days=45), "Six-week review")
            else:
                self.b.book(self, self.surgeon, "follow_up", self.S + timedelta(days=91), "Three-month review")
            self.rts_obs("not_returned", None, self.b.at(self.today - timedelta(days=1), 18))

    def _returned(self) -> None:
        s = self.s
        day = self.rts_planned
        enc = self.b.visit(self, self.physio, "physiotherapy", day, "Return-to-sport assessment",
                           "Hop tests LSI ≥90%, full plantar flexion, no effusion after load: cleared.")
        when = enc.end if enc else self.b.at(day, 17)
        status = s.rts or "returned_previous_level"
        if self.condition is not None:
            self.condition.clinical_status = "remission"
        level = {"returned_previous_level": "at the previous level", "returned_higher_level": "at a higher level",
                 "returned_lower_level": "at a lower level for now"}[status]
        self.event("returned_to_sport", when, f"Back to {self.sport_text} {level}, "
                   f"{(when.date() - self.S).days // 7} weeks after surgery.", self.physio)
        self.rts_obs(status, when.date(), when)
        if s.stage == "returned_to_sport" and self.S + timedelta(days=182) > self.today:
            self.b.book(self, self.surgeon, "follow_up", self.S + timedelta(days=182), "Six-month review")

    def _discharged(self) -> None:
        day = self.S + timedelta(days=self.rng.randint(175, 195))
        enc = self.b.visit(self, self.surgeon, "follow_up", day, "Six-month review", "Pain-free, full function. Discharged.")
        self._close(enc.end if enc else self.b.at(day, 17))
