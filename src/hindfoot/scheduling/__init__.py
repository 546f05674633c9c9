"""Scheduling: what can be booked, when, and by whom; one job per module.

Pure (no database, no web): ``catalogue`` (services), ``availability/`` (slot search, validators,
series, daylight saving), ``ical`` (calendar invites). Services over the database: ``clinic``
(loads a window of the rota into an ``availability.ClinicCalendar``), ``guards`` (locks and
re-checks), ``search``, ``booking``, ``registration``, ``calendar`` (staff diary), ``rota``,
``series``, ``notices`` and ``reminders``; ``notifications`` sends the e-mails, ``clinic_setup``
edits locations and services.
"""
