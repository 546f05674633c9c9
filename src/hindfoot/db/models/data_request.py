"""DataRequest: a patient's request to exercise a data right (GDPR articles 16-18) and the clinic's answer.

Access (article 15) and portability (article 20) need no request: the patient downloads the record
themself. Correction, erasure and restriction of processing are asked for here and handled by an
admin of the patient's clinic, who accepts or refuses with a reason. Not a FHIR resource (FHIR R4
has no such request type); the closest is a Task, which this row could be mapped to later.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hindfoot.db.base import Base, IdMixin, TimestampMixin


class DataRequestKind(enum.StrEnum):
    correction = "correction"  # article 16: rectification
    erasure = "erasure"  # article 17
    restriction = "restriction"  # article 18


class DataRequestStatus(enum.StrEnum):
    open = "open"
    accepted = "accepted"
    refused = "refused"


class DataRequest(IdMixin, TimestampMixin, Base):
    __tablename__ = "data_request"

    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"))
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))
    details: Mapped[str] = mapped_column(Text, default="")  # what is wrong, or why (the patient's words)
    status: Mapped[str] = mapped_column(String(20), default=DataRequestStatus.open.value)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    answer: Mapped[str] = mapped_column(Text, default="")  # the reason for a refusal, or what was done


# the queue: a clinic's requests, open ones first, oldest first
Index("ix_data_request_org_status", DataRequest.organization_id, DataRequest.status, DataRequest.created_at)
