"""AuditEvent (FHIR AuditEvent): who did what to which patient data, when, and the outcome."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hindfoot.db.base import Base, IdMixin, utcnow

# FHIR AuditEvent.action: C create, R read, U update, D delete, E execute
# FHIR AuditEvent.outcome: 0 success, 4 minor failure (denied), 8 serious failure
OUTCOME_LABELS = {"0": "success", "4": "denied", "8": "error"}


class AuditEvent(IdMixin, Base):
    __tablename__ = "audit_event"

    recorded_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    user_email: Mapped[str | None] = mapped_column(String(200))
    user_role: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(1))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    patient_id: Mapped[uuid.UUID | None] = mapped_column(index=True)  # no FK: the trail outlives the record
    outcome: Mapped[str] = mapped_column(String(1), default="0")
    description: Mapped[str] = mapped_column(String(500), default="")
    source_ip: Mapped[str | None] = mapped_column(String(64))
    path: Mapped[str | None] = mapped_column(String(300))
    organization_id: Mapped[uuid.UUID | None] = mapped_column(index=True)  # whose trail; no FK, like patient_id
    # The hash chain (hindfoot.audit.chain): set when the transaction commits, in commit order.
    seq: Mapped[int | None] = mapped_column(Integer, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))

    @property
    def outcome_label(self) -> str:
        return OUTCOME_LABELS.get(self.outcome, self.outcome)
