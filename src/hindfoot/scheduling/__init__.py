"""Scheduling: the service catalogue, pure slot search and validators, and calendar invites.

``catalogue``, ``availability`` and ``ical`` are pure (no database, no web); the booking service
loads rows, builds an ``availability.ClinicCalendar`` and asks it what is free or why not.
"""
