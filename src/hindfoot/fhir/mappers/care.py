"""CarePlan with its dated activities (R4 4.0.1): http://hl7.org/fhir/StructureDefinition/CarePlan"""

from __future__ import annotations

from typing import Any

from hindfoot.fhir import codes
from hindfoot.fhir.mappers.common import coding, day, drop_none, narrative, ref, resource

CARE_PLAN_STATUS = {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"}
ACTIVITY_STATUS = {"not-started", "scheduled", "in-progress", "on-hold", "completed", "cancelled", "stopped",
                   "unknown", "entered-in-error"}


def _activity(activity: Any) -> dict[str, Any]:
    window = drop_none({"start": day(activity.earliest or activity.typical),
                        "end": day(activity.latest or activity.typical)})
    description = activity.detail or activity.title
    if activity.typical:
        description += f" (typical date {day(activity.typical)})"
    return {"detail": drop_none({
        "kind": "Task",
        "code": {"coding": [coding(codes.HINDFOOT_CARE_PLAN, activity.code, activity.title)], "text": activity.title},
        "status": activity.status if activity.status in ACTIVITY_STATUS else "unknown",
        "scheduledPeriod": window,
        "description": description,
    })}


def care_plan_to_fhir(plan: Any) -> dict[str, Any]:
    activities = list(plan.activities)
    return resource(
        "CarePlan", plan,
        narrative(f"{plan.title} ({plan.kind}, {plan.status})",
                  f"{len(activities)} activities from {day(plan.period_start)}"),
        status=plan.status if plan.status in CARE_PLAN_STATUS else "unknown",
        intent="plan",
        title=plan.title,
        description=plan.description,
        subject=ref("Patient", plan.patient_id),
        period=drop_none({"start": day(plan.period_start), "end": day(plan.period_end)}),
        author=ref("Practitioner", plan.author_id),
        activity=[_activity(a) for a in activities],
    )
