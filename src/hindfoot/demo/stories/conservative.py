"""Conservative care: the bundle plan, missed visits, injections, and how it turned out."""

from __future__ import annotations

from datetime import date, timedelta

from hindfoot.db.models import Appointment, CarePlan, CarePlanActivity, Procedure
from hindfoot.db.models.procedure import PROCEDURES
from hindfoot.demo.patients import CONDITION_CODES
from hindfoot.demo.stories.diagnosis import Diagnosis


class Conservative(Diagnosis):
    def _conservative(self) -> None:
        s, rng = self.s, self.rng
        enc = self.b.visit(self, self.clinician, "follow_up", self.C, "Results of investigations",
                           "Imaging reviewed. Stepped conservative care agreed.")
        assert enc is not None
        self.C = enc.start.date()
        self._confirm(enc.start)
        self.event("conservative_care", enc.end, "Diagnosis confirmed; conservative care: relative rest, "
                   "strapping, physiotherapy" + (", image-guided injection if not settling." if
                                                s.condition == "posterior_ankle_impingement" else "."), self.clinician)
        plan_end = self.L or self.rts_day_estimate()
        # weekly physiotherapy until listing / today / success
        last = min(self.today, (self.L or self.today) - timedelta(days=7))
        if s.conservative_success:
            last = self.C + timedelta(days=40)
        day = self.C + timedelta(days=rng.randint(2, 6))
        k = 0
        while day <= last:
            k += 1
            if not self.b.noshow_done and s.stage == "conservative_care" and k == 2:
                self._missed(day)
            else:
                self.b.visit(self, self.physio, "physiotherapy", day, f"Physiotherapy session {k}",
                             rng.choice(["Mid-range calf and FHL strengthening; balance work.",
                                         "Mobility, intrinsic foot strength, technique review.",
                                         "Progressed loading; end-range work still provocative.",
                                         "Strapping reviewed; single-leg heel raise 15 reps."]))
            day += timedelta(days=rng.randint(6, 9))
        if s.condition == "posterior_ankle_impingement":
            inj_day = self.C + timedelta(days=rng.randint(21, 35))
            if inj_day <= self.today - timedelta(days=1) and (self.L is None or inj_day < self.L - timedelta(days=14)):
                self._injection(inj_day, lasting=s.conservative_success or (s.stage == "conservative_care"
                                                                              and rng.random() < 0.6))
            elif s.stage == "conservative_care":
                self.b.book(self, "lindqvist", "image_guided_injection", inj_day,
                            "Ultrasound-guided posterior ankle injection")
        if s.stage == "conservative_care":
            self.b.book(self, self.physio, "physiotherapy", self.today + timedelta(days=rng.randint(1, 6)),
                        "Physiotherapy")
            self.b.book(self, self.clinician, "follow_up", self.C + timedelta(days=rng.randint(42, 84)),
                        "Review of conservative care")
        for tp, days in (("6w", 42), ("3m", 91)):
            due = self.C + timedelta(days=days)
            if due <= self.today and (self.L is None or due < self.L):
                sev = 0.45 if not s.conservative_success else (0.25 if tp == "6w" else 0.12)
                self.proms(tp, due, severity=sev + rng.uniform(-0.05, 0.05))
        self.conservative_plan(plan_end)

    def _missed(self, day: date) -> None:
        found = self.b.slot(self.physio, "physiotherapy", day, direction=-1, not_after=self.today)
        if found is None:
            return
        start, end, loc = found
        self.b.add(Appointment(
            patient_id=self.patient.id, practitioner_id=self.b.prac[self.physio].id,
            location_id=self.b.loc[loc].id, episode_id=self.episode.id, service_type="physiotherapy",
            status="noshow", start=start, end=end, reason="Physiotherapy session 2",
            note="Did not attend; patient phoned later (rehearsal clash). Rebooked.",
        ))
        self.b.noshow_done = True

    def _injection(self, day: date, *, lasting: bool) -> None:
        enc = self.b.visit(self, "lindqvist", "image_guided_injection", day,
                           "Ultrasound-guided posterior ankle injection",
                           "1 ml triamcinolone 40 mg with 2 ml 1% lidocaine to the posterior capsule / os trigonum region.")
        if enc is None:
            return
        self.inj = enc.start.date()
        self.b.add(Procedure(
            patient_id=self.patient.id, episode_id=self.episode.id, code="image_guided_injection",
            display=PROCEDURES["image_guided_injection"], cpt_code=None, status="completed",
            performed_at=enc.start + timedelta(minutes=10), performer_id=self.b.prac["lindqvist"].id,
            location_id=enc.location_id, laterality=self.side,
            note="Diagnostic and therapeutic." + (" Durable relief." if lasting else
                                                 " Good relief for about three weeks, then recurrence."),
        ))
        self.observe("tests", "posterior_injection_relief", True, enc.end + timedelta(minutes=20), enc=enc,
                     performer="lindqvist", note="Pain on hyperplantarflexion 7/10 before, 1/10 at 20 minutes.")

    def conservative_plan(self, end: date | None) -> None:
        s, C, t = self.s, self.C, self.today
        finished = self.L is not None or s.conservative_success
        plan = self.b.add(CarePlan(
            patient_id=self.patient.id, episode_id=self.episode.id,
            title="Conservative care: " + CONDITION_CODES[s.condition][2].lower(), kind="conservative",
            sport=s.sport, level=self.patient.level, status="completed" if finished else "active",
            period_start=C, period_end=end if finished else None, author_id=self.b.prac[self.clinician].id,
            description=("Stepped care (evidence.md 5.1, 6.2): settle, restore, reload, return; "
                         "escalate if no durable relief after 6-12 weeks." if s.condition == "posterior_ankle_impingement"
                         else "Load management and progressive loading programme."),
        ))
        steps = [
            ("relative_rest", "Relative rest from end-range plantar flexion", "settle", 0, 7, 14,
             ["Pain ≤2/10 in daily activities"]),
            ("strapping", "Strapping to block end-range plantar flexion", "settle", 0, 7, 14, []),
            ("analgesia_ice", "Ice and simple analgesia as needed", "settle", 0, 7, 14, []),
            ("physio_restore", "Physiotherapy: mobility, calf/FHL/intrinsic strength, balance", "restore", 14, 28, 42,
             ["Pain-free loaded mid-range plantar flexion", "Single-leg heel raise ≥80% of other side"]),
            ("physio_reload", "Progressive end-range work and plyometrics", "reload", 28, 42, 56,
             ["Hyperplantarflexion pain-free or ≤2/10"]),
            ("graded_return", f"Graded return to {self.sport_text}", "return", 42, 56, 70,
             ["Full sport drills pain-free"]),
        ]
        if s.condition == "posterior_ankle_impingement":
            steps.insert(4, ("image_guided_injection", "Image-guided posterior ankle injection if not settling",
                             "treatment", 21, 28, 42, []))
        steps.append(("review", "Specialist review", "review", 42, 63, 84, []))
        for pos, (code, title, cat, e, ty, la, crit) in enumerate(steps):
            typical = C + timedelta(days=ty)
            if code == "image_guided_injection" and self.inj:
                status, done = "completed", self.inj
            elif code == "image_guided_injection" and finished:
                status, done = "cancelled", None
            elif typical <= t and (not finished or code not in ("graded_return",) or s.conservative_success):
                status, done = "completed", typical
            elif C + timedelta(days=e) <= t and not finished:
                status, done = "in-progress", None
            else:
                status, done = ("cancelled" if finished else "not-started"), None
            if self.L is not None and code == "graded_return":
                status, done = "cancelled", None
            self.b.add(CarePlanActivity(
                care_plan_id=plan.id, position=pos, code=code, title=title, category=cat, status=status,
                earliest=C + timedelta(days=e), typical=typical, latest=C + timedelta(days=la),
                completed_on=done, criteria=crit, criteria_met=[status == "completed"] * len(crit),
                source="evidence.md 5.1, 6.2",
            ))

    def _conservative_outcome(self) -> None:
        s, rng = self.s, self.rng
        back = (self.inj or self.C + timedelta(days=28)) + timedelta(days=rng.randint(18, 30))
        enc = self.b.visit(self, self.clinician, "follow_up", back, "Review of conservative care",
                           f"Pain-free end-range plantar flexion; cleared for full {self.sport_text}.")
        when = enc.end if enc else self.b.at(back, 17)
        if self.condition is not None:
            self.condition.clinical_status = "remission"
        self.event("returned_to_sport", when, f"Back to full {self.sport_text} after conservative care.", self.clinician)
        self.rts_obs("returned_previous_level", when.date(), when)
        if s.stage == "discharged":
            d = back + timedelta(days=rng.randint(42, 70))
            enc = self.b.visit(self, self.clinician, "telephone", d, "Discharge review", "Symptom-free. Discharged.")
            when = enc.end if enc else self.b.at(d, 17)
            self._close(when)
            self.proms("6m", self.C + timedelta(days=182), severity=0.06)
            if self.C + timedelta(days=365) <= self.today:
                self.proms("12m", self.C + timedelta(days=365), severity=0.04)
        else:
            self.proms("6m", self.C + timedelta(days=182), severity=0.08)
