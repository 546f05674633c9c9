"""A document about a patient kept with their record: a referral letter that arrived with a referral
(FHIR DocumentReference), its content inline (base64) or at a URL."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hindfoot.db.base import Base, IdMixin, TimestampMixin, utcnow


class DocumentReference(IdMixin, TimestampMixin, Base):
    __tablename__ = "document_reference"

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="current")  # current | superseded | entered-in-error
    type_code: Mapped[str | None] = mapped_column(String(20), default=None)  # LOINC document type
    type_display: Mapped[str | None] = mapped_column(String(200), default=None)
    description: Mapped[str] = mapped_column(String(500), default="")
    author_display: Mapped[str | None] = mapped_column(String(200), default=None)  # as the sender named them
    date: Mapped[datetime] = mapped_column(default=utcnow)
    content_type: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200), default="")
    data: Mapped[str | None] = mapped_column(Text, default=None)  # base64, as FHIR carries it
    url: Mapped[str | None] = mapped_column(String(500), default=None)
    size: Mapped[int | None] = mapped_column(default=None)  # bytes of the decoded content
