"""The demo patients' stories, one class per part of the pathway, stacked in pathway order:
``base`` (identity, dates) ← ``follow_up`` (recovery plan, PROMs, return to sport) ← ``diagnosis``
← ``conservative`` ← ``surgical`` ← ``patient`` (:class:`PatientStory`, which runs them).
"""

from hindfoot.demo.stories.patient import PatientStory

__all__ = ["PatientStory"]
