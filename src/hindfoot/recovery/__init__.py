"""Recovery plans after posterior ankle impingement treatment.

`planner` builds dated, sport-specific milestone windows from the protocol data and re-plans
them as real progress is recorded; `ical` exports a plan to a patient's calendar. Both pure.
"""
