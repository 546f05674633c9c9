"""waitlist: patients waiting for a time (service, clinician, location, date range) and the freed times
offered to them by email, first to claim wins

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 13:45:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column]:
    return [sa.Column("created_at", sa.DateTime(timezone=True), nullable=False), sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "waitlist_entry",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("service_type", sa.String(length=40), nullable=False),
        sa.Column("practitioner_id", sa.Uuid(), nullable=True),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("earliest", sa.Date(), nullable=True),
        sa.Column("latest", sa.Date(), nullable=True),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=True),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"],
                                name=op.f("fk_waitlist_entry_organization_id_organization")),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], ondelete="CASCADE",
                                name=op.f("fk_waitlist_entry_patient_id_patient")),
        sa.ForeignKeyConstraint(["practitioner_id"], ["practitioner.id"],
                                name=op.f("fk_waitlist_entry_practitioner_id_practitioner")),
        sa.ForeignKeyConstraint(["location_id"], ["location.id"], name=op.f("fk_waitlist_entry_location_id_location")),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointment.id"], ondelete="SET NULL",
                                name=op.f("fk_waitlist_entry_appointment_id_appointment")),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"], ondelete="SET NULL",
                                name=op.f("fk_waitlist_entry_created_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entry")),
    )
    op.create_index(op.f("ix_waitlist_entry_organization_id"), "waitlist_entry", ["organization_id"])
    op.create_index(op.f("ix_waitlist_entry_patient_id"), "waitlist_entry", ["patient_id"])
    op.create_table(
        "waitlist_offer",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("practitioner_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("service_type", sa.String(length=40), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(["entry_id"], ["waitlist_entry.id"], ondelete="CASCADE",
                                name=op.f("fk_waitlist_offer_entry_id_waitlist_entry")),
        sa.ForeignKeyConstraint(["practitioner_id"], ["practitioner.id"],
                                name=op.f("fk_waitlist_offer_practitioner_id_practitioner")),
        sa.ForeignKeyConstraint(["location_id"], ["location.id"], name=op.f("fk_waitlist_offer_location_id_location")),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointment.id"], ondelete="SET NULL",
                                name=op.f("fk_waitlist_offer_appointment_id_appointment")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_offer")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_waitlist_offer_token_hash")),
    )
    op.create_index(op.f("ix_waitlist_offer_entry_id"), "waitlist_offer", ["entry_id"])
    op.create_index(op.f("ix_waitlist_offer_start"), "waitlist_offer", ["start"])


def downgrade() -> None:
    op.drop_index(op.f("ix_waitlist_offer_start"), table_name="waitlist_offer")
    op.drop_index(op.f("ix_waitlist_offer_entry_id"), table_name="waitlist_offer")
    op.drop_table("waitlist_offer")
    op.drop_index(op.f("ix_waitlist_entry_patient_id"), table_name="waitlist_entry")
    op.drop_index(op.f("ix_waitlist_entry_organization_id"), table_name="waitlist_entry")
    op.drop_table("waitlist_entry")
