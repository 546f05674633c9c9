"""front door and front desk: which services the public may book online; patient contact details
(address, GP practice, emergency contact, preferred contact); the symptom check a booking carries
and its provisional triage; check-in and seen times on appointments

Revision ID: 0011
Revises: 0007
Create Date: 2026-12-03 09:45:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAFF_ONLY = ("day_case_surgery", "image_guided_injection", "imaging", "nurse_dressing")


def upgrade() -> None:
    with op.batch_alter_table("clinic_service", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bookable_online", sa.Boolean(), nullable=False, server_default=sa.true()))
    service = sa.table("clinic_service", sa.column("code", sa.String), sa.column("bookable_online", sa.Boolean))
    op.execute(service.update().where(service.c.code.in_(STAFF_ONLY)).values(bookable_online=False))
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("gp_practice", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("emergency_contact", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("emergency_phone", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("preferred_contact", sa.String(length=10), nullable=True))
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assessment_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("triage", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_appointment_assessment_id_assessment_interview"),
                                    "assessment_interview", ["assessment_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_appointment_assessment_id_assessment_interview"), type_="foreignkey")
        batch_op.drop_column("seen_at")
        batch_op.drop_column("checked_in_at")
        batch_op.drop_column("triage")
        batch_op.drop_column("assessment_id")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        for name in ("preferred_contact", "emergency_phone", "emergency_contact", "gp_practice", "address"):
            batch_op.drop_column(name)
    with op.batch_alter_table("clinic_service", schema=None) as batch_op:
        batch_op.drop_column("bookable_online")
