"""iCalendar export parses back and keeps stable UIDs."""

from __future__ import annotations

from datetime import date, timedelta

from icalendar import Calendar

from hindfoot.recovery.ical import PRODID, to_ics
from hindfoot.recovery.planner import build_plan, replan

START = date(2025, 3, 3)


def events(data: bytes) -> dict[str, object]:
    cal = Calendar.from_ical(data)
    assert str(cal["prodid"]) == PRODID
    return {str(e["uid"]): e for e in cal.walk("VEVENT")}


def test_one_all_day_event_per_milestone_on_typical_date() -> None:
    plan = build_plan("posterior_arthroscopic_excision", START, "ballet", "professional")
    evs = events(to_ics(plan))
    assert len(evs) == len(plan.milestones)
    for m in plan.milestones:
        uid = next(u for u in evs if u.endswith(f"-{m.id}@hindfoot"))
        ev = evs[uid]
        assert ev["dtstart"].dt == m.typical  # type: ignore[index]
        assert ev["dtend"].dt == m.typical + timedelta(days=1)  # type: ignore[index]
        assert str(ev["summary"]) == m.title  # type: ignore[index]
        text = str(ev["description"])  # type: ignore[index]
        assert m.earliest.isoformat() in text and m.latest.isoformat() in text
        assert all(c in text for c in m.criteria)


def test_range_note_and_repeat_rule() -> None:
    plan = build_plan("posterior_arthroscopic_excision", START, "none")
    evs = events(to_ics(plan))
    crutches = next(e for u, e in evs.items() if "-crutches_off@" in u)
    assert "[S1]" in str(crutches["description"]) and "Note:" in str(crutches["description"])  # type: ignore[index]
    dressings = next(e for u, e in evs.items() if "-dressings_every_other_day@" in u)
    rule = dressings["rrule"]  # type: ignore[index]
    assert rule["INTERVAL"] == [2] and rule["UNTIL"][0] < plan.milestone("wound_check").typical


def test_uids_are_stable_across_replanning_and_keyable() -> None:
    plan = build_plan("open_excision", START, "football", "competitive")
    moved = replan(plan, {"crutches_off": START + timedelta(days=30)})
    first, second = to_ics(plan), to_ics(moved, sequence=1)
    assert set(events(first)) == set(events(second))
    assert first == to_ics(plan)  # deterministic
    keyed = events(to_ics(plan, key="episode-42"))
    assert all(u.startswith("episode-42-") for u in keyed)
    late = next(e for u, e in events(second).items() if "-normal_footwear@" in u)
    assert "Re-planned" in str(late["description"]) and int(late["sequence"]) == 1  # type: ignore[index]
