"""Why a time cannot be booked: the problem codes and the error that carries them."""

from __future__ import annotations

import enum

from hindfoot.errors import HindfootError
from hindfoot.scheduling.availability.times import Id


class SlotProblem(enum.StrEnum):
    """Why a time cannot be booked; the value is the error ``code`` the API returns."""

    invalid_time = "invalid_time"
    unknown_practitioner = "unknown_practitioner"
    service_not_provided = "service_not_provided"
    in_past = "slot_in_past"
    too_short_notice = "too_short_notice"
    on_leave = "practitioner_on_leave"
    location_closed = "location_closed"
    outside_availability = "outside_availability"
    already_taken = "slot_taken"
    series_overlap = "series_overlap"


_STATUS = {
    SlotProblem.invalid_time: 422,
    SlotProblem.unknown_practitioner: 422,
    SlotProblem.service_not_provided: 422,
    SlotProblem.in_past: 422,
    SlotProblem.too_short_notice: 422,
}
_FIELD = {
    SlotProblem.unknown_practitioner: "practitioner_id",
    SlotProblem.service_not_provided: "service",
    SlotProblem.location_closed: "location_id",
}


class SlotUnavailable(HindfootError):
    """A time that cannot be booked, with the reason as ``code`` and a sentence as ``message``.

    A :class:`~hindfoot.errors.HindfootError`, so the one error handler maps it: 409 when the
    time is genuinely unavailable (taken, leave, closed, outside hours), 422 when the request
    itself is wrong (in the past, wrong role). ``booking_id`` names the clashing booking and
    ``occurrence`` the clashing series occurrence, when there is one.
    """

    def __init__(
        self,
        problem: SlotProblem,
        message: str,
        *,
        booking_id: Id | None = None,
        occurrence: int | None = None,
    ) -> None:
        super().__init__(message, field=_FIELD.get(problem, "start"))
        self.problem = problem
        self.code = problem.value
        self.status_code = _STATUS.get(problem, 409)
        self.booking_id = booking_id
        self.occurrence = occurrence

    def __repr__(self) -> str:
        return f"SlotUnavailable({self.code!r}, {self.message!r})"
