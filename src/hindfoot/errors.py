"""One error hierarchy for domain code; the web and API layers map it to HTTP once.

    HindfootError
     ├── InvalidInput   422  bad value, names the field
     │    └── BadRequest 400  a request the protocol itself refuses (an unknown FHIR search parameter)
     ├── NotAuthenticated 401
     ├── Forbidden      403  (the denial is audited)
     ├── NotFound       404
     │    └── AccessDenied  404 to the caller, audited as a denial
     ├── NotAcceptable  406  (FHIR XML asked for; only JSON is served)
     ├── Conflict       409  (slot already taken, illegal pathway move)
     ├── TooManyAttempts 429  (sign-in locked for a while; Retry-After)
     └── Busy           503  (a bounded resource stayed taken for the whole wait; Retry-After; nothing written)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Denial:
    """What a refusal is about, for the audit trail (written even though the request fails)."""

    action: str  # audit action code: R, C, U, D, E
    entity_type: str
    entity_id: object | None
    patient_id: object | None
    description: str


class HindfootError(Exception):
    status_code = 400
    code = "error"
    headers: dict[str, str] | None = None  # extra HTTP headers of the answer
    denial: Denial | None = None  # set when the refusal belongs in the audit trail
    keep_writes: bool = False  # the request's transaction commits what it recorded before the refusal

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"error": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return body


class InvalidInput(HindfootError):
    status_code = 422
    code = "invalid_input"


class BadRequest(InvalidInput):
    status_code = 400
    code = "bad_request"


class NotAcceptable(HindfootError):
    status_code = 406
    code = "not_acceptable"


class NotAuthenticated(HindfootError):
    status_code = 401
    code = "not_authenticated"


class Forbidden(HindfootError):
    status_code = 403
    code = "forbidden"


class NotFound(HindfootError):
    status_code = 404
    code = "not_found"


class AccessDenied(NotFound):
    """Refused access to patient data. Answers 404 so ids cannot be probed, and is audited as a denial."""

    code = "not_found"

    def __init__(
        self,
        message: str,
        *,
        entity_type: str,
        entity_id: object,
        patient_id: object | None = None,
        action: str = "R",
    ) -> None:
        super().__init__(message)
        self.entity_type = entity_type
        self.entity_id = entity_id
        self.patient_id = patient_id
        self.action = action
        self.denial = Denial(action, entity_type, entity_id, patient_id, f"access refused: {message}")


class Conflict(HindfootError):
    status_code = 409
    code = "conflict"


class TooManyAttempts(HindfootError):
    status_code = 429
    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
        self.headers = {"Retry-After": str(retry_after_seconds)}

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "retry_after_seconds": self.retry_after_seconds}


class Busy(HindfootError):
    status_code = 503
    code = "busy"
    retry_after_seconds = 2

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.headers = {"Retry-After": str(self.retry_after_seconds)}

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "retry_after_seconds": self.retry_after_seconds}
