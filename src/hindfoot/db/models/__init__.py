"""All ORM models, named after the HL7 FHIR R4 resources they mirror."""

from hindfoot.db.models.account import AccountRole, UserAccount
from hindfoot.db.models.api_client import ApiClient
from hindfoot.db.models.assessment import AssessmentInterview
from hindfoot.db.models.audit import AuditEvent
from hindfoot.db.models.care_plan import CarePlan, CarePlanActivity
from hindfoot.db.models.clinic_service import ClinicService
from hindfoot.db.models.condition import Condition
from hindfoot.db.models.data_request import DataRequest, DataRequestKind, DataRequestStatus
from hindfoot.db.models.document import DocumentReference
from hindfoot.db.models.encounter import Encounter
from hindfoot.db.models.episode import EpisodeOfCare, Laterality, PathwayEvent, PathwayStage
from hindfoot.db.models.imaging import DiagnosticReport, ImagingStudy
from hindfoot.db.models.login_throttle import LoginThrottle
from hindfoot.db.models.oauth import (
    BulkExport,
    BulkExportFile,
    OAuthCode,
    OAuthToken,
    SigningKey,
    SmartLaunch,
    UsedJwtId,
)
from hindfoot.db.models.observation import Observation
from hindfoot.db.models.organization import Location, Organization
from hindfoot.db.models.outcome_reminder import OutcomeReminder
from hindfoot.db.models.patient import Patient, Sex, SportLevel
from hindfoot.db.models.practitioner import Practitioner, PractitionerRoleCode
from hindfoot.db.models.procedure import Procedure
from hindfoot.db.models.questionnaire import Questionnaire, QuestionnaireResponse
from hindfoot.db.models.registry import (
    RegistryEpisode,
    RegistryScore,
    RegistryTotalAnchor,
    RegistryTotalKm,
    RegistryTotalProcedure,
    RegistryTotalScore,
    RegistryTotalStart,
)
from hindfoot.db.models.scheduling import (
    Appointment,
    AvailabilityException,
    AvailabilityRule,
    Schedule,
    Slot,
    WaitlistEntry,
    WaitlistOffer,
)
from hindfoot.db.models.security import AuditChainHead, MfaRecoveryCode, Passkey, UserSession

__all__ = [
    "AccountRole",
    "ApiClient",
    "Appointment",
    "AssessmentInterview",
    "AuditChainHead",
    "AuditEvent",
    "AvailabilityException",
    "AvailabilityRule",
    "BulkExport",
    "BulkExportFile",
    "CarePlan",
    "CarePlanActivity",
    "ClinicService",
    "Condition",
    "DataRequest",
    "DataRequestKind",
    "DataRequestStatus",
    "DiagnosticReport",
    "DocumentReference",
    "Encounter",
    "EpisodeOfCare",
    "ImagingStudy",
    "Laterality",
    "Location",
    "LoginThrottle",
    "MfaRecoveryCode",
    "OAuthCode",
    "OAuthToken",
    "Observation",
    "Organization",
    "OutcomeReminder",
    "Passkey",
    "PathwayEvent",
    "PathwayStage",
    "Patient",
    "Practitioner",
    "PractitionerRoleCode",
    "Procedure",
    "Questionnaire",
    "QuestionnaireResponse",
    "RegistryEpisode",
    "RegistryScore",
    "RegistryTotalAnchor",
    "RegistryTotalKm",
    "RegistryTotalProcedure",
    "RegistryTotalScore",
    "RegistryTotalStart",
    "Schedule",
    "Sex",
    "SigningKey",
    "Slot",
    "SmartLaunch",
    "SportLevel",
    "UsedJwtId",
    "UserAccount",
    "UserSession",
    "WaitlistEntry",
    "WaitlistOffer",
]

# The registry's session hooks (kept in step with every write) are registered here, once, after
# every model they watch: importing the models is what every entry point (app, CLI, migrations,
# tests) already does.
from hindfoot.db import registry_hooks as _registry_hooks  # noqa: E402, F401
