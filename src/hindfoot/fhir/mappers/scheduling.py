"""Schedule, Slot and Appointment (R4 4.0.1).

Profiles: http://hl7.org/fhir/StructureDefinition/{Schedule,Slot,Appointment}
"""

from __future__ import annotations

from typing import Any

from hindfoot.fhir import codes
from hindfoot.fhir.mappers.common import coding, instant, narrative, ref, resource

APPOINTMENT_STATUS = {"proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow",
                      "entered-in-error", "checked-in", "waitlist"}
SLOT_STATUS = {"busy", "free", "busy-unavailable", "busy-tentative", "entered-in-error"}


def _service(code: str | None) -> list[dict[str, Any]] | None:
    if not code:
        return None
    label = code.replace("_", " ").capitalize()
    return [{"coding": [coding(codes.HINDFOOT_SERVICE, code, label)], "text": label}]


def schedule_to_fhir(schedule: Any) -> dict[str, Any]:
    return resource(
        "Schedule", schedule,
        narrative("Bookable time of a clinician at one location", schedule.comment),
        active=schedule.active,
        actor=[ref("Practitioner", schedule.practitioner_id), ref("Location", schedule.location_id)],
        comment=schedule.comment,
    )


def slot_to_fhir(slot: Any) -> dict[str, Any]:
    status = slot.status if slot.status in SLOT_STATUS else "busy"
    return resource(
        "Slot", slot,
        narrative(f"{status} from {instant(slot.start)} to {instant(slot.end)}"),
        serviceType=_service(slot.service_type),
        schedule=ref("Schedule", slot.schedule_id),
        status=status,
        start=instant(slot.start),
        end=instant(slot.end),
    )


def appointment_to_fhir(appointment: Any) -> dict[str, Any]:
    status = appointment.status if appointment.status in APPOINTMENT_STATUS else "booked"
    participant_status = "declined" if status in ("cancelled", "noshow") else "accepted"
    return resource(
        "Appointment", appointment,
        narrative(f"{appointment.service_type.replace('_', ' ')} on {instant(appointment.start)} ({status})",
                  appointment.reason),
        status=status,
        cancelationReason=({"text": appointment.cancellation_reason} if appointment.cancellation_reason else None),
        serviceType=_service(appointment.service_type),
        reasonCode=[{"text": appointment.reason}] if appointment.reason else None,
        description=appointment.reason,
        start=instant(appointment.start),
        end=instant(appointment.end),
        slot=[ref("Slot", appointment.slot_id)] if appointment.slot_id else None,
        created=instant(appointment.created_at),
        comment=appointment.note,
        participant=[
            {"actor": ref("Patient", appointment.patient_id), "status": participant_status},
            {"actor": ref("Practitioner", appointment.practitioner_id), "status": participant_status},
            {"actor": ref("Location", appointment.location_id), "status": participant_status},
        ],
    )
