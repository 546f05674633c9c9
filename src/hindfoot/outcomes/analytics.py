"""Registry analytics for the clinic: every figure is one aggregate query pushed down to the database.

The cohort is the organisation's episodes of care, filtered by the patient's sport, a procedure
code, the operating surgeon and the period in which the episode started. Definitions:

- completion per time point: of the cohort episodes whose time point is already due (baseline:
  the episode has started; follow-ups: the anchor (surgery, else the first move to conservative
  care) plus 6 weeks / 3 / 6 / 12 months is on or before today), the share with a completed
  questionnaire of that time point;
- change from baseline: per score and follow-up time point, over the episodes with both a baseline
  and a follow-up score (the mean when a time point was answered twice), the mean change and the
  share whose improvement reaches the score's MCID (pain: a fall of at least 2 points);
- time to return to sport: days from the anchor to the first reported return date; episodes with a
  return-to-sport answer but no return yet are censored at their last answer (kept, not dropped),
  episodes with no answer at all have no follow-up and are left out; Kaplan-Meier over the
  per-day counts (`survival.kaplan_meier`);
- complications: completed surgical procedures with a recorded complication.

Scores, completion and return to sport are read from the registry summary tables
(`registry_score`, `registry_episode`: narrow per-episode rows derived from the QuestionnaireResponses
and score Observations and kept in step with them, see `hindfoot.db.registry_hooks`), so the
dashboard never joins the millions of score Observations of a large registry.

This module is the registry's face for the adapters; the work is in `cohort.py` (filters, the
cohort query, follow-up anchors), `dashboard.py` (the figures) and `csv_export.py` (the
de-identified export).
"""
from hindfoot.outcomes.cohort import Filters
from hindfoot.outcomes.csv_export import CsvExport, export_csv
from hindfoot.outcomes.dashboard import Dashboard, dashboard, filter_options

__all__ = ["CsvExport", "Dashboard", "Filters", "dashboard", "export_csv", "filter_options"]
