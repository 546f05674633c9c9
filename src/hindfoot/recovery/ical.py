"""Export a recovery plan as an iCalendar (.ics) file a patient can subscribe to or import.

Pure: plan in, bytes out. One all-day event per milestone on its typical date; the window and
the criteria go in the description because the date is only a forecast and the criteria are
what actually gate progress. UIDs are stable for the same plan key, so re-importing a re-planned
calendar updates events instead of duplicating them (bump `sequence` when re-issuing).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, time, timedelta

from icalendar import Calendar, Event, vRecur

from hindfoot.recovery.planner import Milestone, RecoveryPlan

__all__ = ["PRODID", "plan_key", "to_ics"]

PRODID = "-//hindfoot//recovery plan//EN"


def plan_key(plan: RecoveryPlan) -> str:
    """A stable key for a plan's inputs, used in UIDs when the caller has no episode id."""
    raw = f"{plan.procedure}|{plan.sport}|{plan.level}|{plan.start.isoformat()}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _describe(m: Milestone, plan: RecoveryPlan) -> str:
    lines = [m.description.strip(), ""]
    lines.append(
        f"Window: earliest {m.earliest.isoformat()}, typical {m.typical.isoformat()}, "
        f"latest {m.latest.isoformat()}."
    )
    if m.completed_on is not None:
        lines.append(f"Reached on {m.completed_on.isoformat()}.")
    elif m.shifted_days:
        direction = "later" if m.shifted_days > 0 else "earlier"
        lines.append(f"Re-planned {abs(m.shifted_days)} days {direction} than first planned.")
    lines.append("Move on when:")
    lines.extend(f"- {c}" for c in m.criteria)
    if m.range_note:
        lines.append(f"Note: {m.range_note.strip()}")
    lines.append(f"Source: {m.source}")
    lines.append(f"Plan: {plan.procedure_label}; sport {plan.sport}; level {plan.level}.")
    return "\n".join(lines)


def _repeat_until(m: Milestone, plan: RecoveryPlan) -> datetime | None:
    """A repeating task (dressings) runs until the first milestone that depends on it."""
    followers = [f.typical for f in plan.milestones if m.id in f.after]
    if not followers:
        return None
    return datetime.combine(min(followers) - timedelta(days=1), time(), tzinfo=UTC)


def to_ics(
    plan: RecoveryPlan,
    *,
    key: str | None = None,
    stamp: datetime | None = None,
    sequence: int = 0,
) -> bytes:
    """Serialise `plan` to iCalendar bytes.

    `key` (e.g. the episode id) makes UIDs stable across re-planning; it defaults to a hash of
    the plan inputs. `stamp` is the DTSTAMP; it defaults to the plan start so output is
    deterministic (pass the current time when issuing to a patient).
    """
    key = key or plan_key(plan)
    dtstamp = stamp or datetime.combine(plan.start, time(), tzinfo=UTC)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"Recovery plan ({plan.procedure_label})")
    for m in plan.milestones:
        event = Event()
        event.add("uid", f"{key}-{m.id}@hindfoot")
        event.add("dtstamp", dtstamp)
        event.add("sequence", sequence)
        event.add("summary", m.title)
        event.add("dtstart", m.typical)
        event.add("dtend", m.typical + timedelta(days=1))
        event.add("description", _describe(m, plan))
        event.add("categories", [m.category])
        event.add("transp", "TRANSPARENT")
        if m.repeat_every_days and m.completed_on is None:
            until = _repeat_until(m, plan)
            if until is not None and until.date() > m.typical:
                event.add(
                    "rrule", vRecur(freq="DAILY", interval=m.repeat_every_days, until=until.date())
                )
        cal.add_component(event)
    data: bytes = cal.to_ical()
    return data
