"""data rights: patients' correction, erasure and restriction requests; a patient's record can be
restricted or erased; a TOTP code works once (the last accepted time step per account); staff
passkeys (WebAuthn) as a second sign-in step

Revision ID: 0012
Revises: 0013
Create Date: 2026-12-03 13:40:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "data_request",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("requested_by_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Uuid(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["decided_by_id"], ["user_account.id"],
                                name=op.f("fk_data_request_decided_by_id_user_account"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"],
                                name=op.f("fk_data_request_organization_id_organization")),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_data_request_patient_id_patient"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["requested_by_id"], ["user_account.id"],
                                name=op.f("fk_data_request_requested_by_id_user_account"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_request")),
    )
    op.create_index(op.f("ix_data_request_patient_id"), "data_request", ["patient_id"], unique=False)
    op.create_index("ix_data_request_org_status", "data_request", ["organization_id", "status", "created_at"],
                    unique=False)
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(sa.Column("restricted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_patient_restricted", "patient", ["organization_id"], unique=False,
                    sqlite_where=sa.text("restricted_at IS NOT NULL"),
                    postgresql_where=sa.text("restricted_at IS NOT NULL"))
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mfa_last_step", sa.Integer(), nullable=True))
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("passkey_challenge", sa.String(length=100), nullable=True))
    op.create_table(
        "passkey",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("credential_id", sa.String(length=1400), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_passkey_user_id_user_account"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_passkey")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_passkey_credential_id")),
    )
    op.create_index(op.f("ix_passkey_user_id"), "passkey", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_passkey_user_id"), table_name="passkey")
    op.drop_table("passkey")
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.drop_column("passkey_challenge")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("mfa_last_step")
    op.drop_index("ix_patient_restricted", table_name="patient")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
        batch_op.drop_column("restricted_at")
    op.drop_index("ix_data_request_org_status", table_name="data_request")
    op.drop_index(op.f("ix_data_request_patient_id"), table_name="data_request")
    op.drop_table("data_request")
