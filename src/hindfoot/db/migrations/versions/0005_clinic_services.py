"""clinic services: the service catalogue as clinic data (duration and providing roles per service)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 10:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clinic_service",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("duration_minutes >= 5 AND duration_minutes <= 480",
                           name=op.f("ck_clinic_service_duration_range")),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"],
                                name=op.f("fk_clinic_service_organization_id_organization"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinic_service")),
        sa.UniqueConstraint("organization_id", "code", name=op.f("uq_clinic_service_organization_id")),
    )
    with op.batch_alter_table("clinic_service", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_clinic_service_organization_id"), ["organization_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("clinic_service", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clinic_service_organization_id"))
    op.drop_table("clinic_service")
