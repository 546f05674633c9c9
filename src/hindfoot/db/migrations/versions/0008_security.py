"""security: audit events carry their organisation and a hash chain; server-side sign-in sessions;
staff MFA (TOTP secret, recovery codes, a clinic switch)

Revision ID: 0008
Revises: 0009
Create Date: 2026-12-03 09:30:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AUDIT_FIELDS = ("id", "recorded_at", "user_id", "user_email", "user_role", "action", "entity_type", "entity_id",
                 "patient_id", "organization_id", "outcome", "description", "source_ip", "path")


def upgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organization_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_audit_event_organization_id"), ["organization_id"], unique=False)
        batch_op.create_unique_constraint(batch_op.f("uq_audit_event_seq"), ["seq"])
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mfa_secret", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("mfa_enabled_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mfa_required", sa.Boolean(), nullable=True))
    op.create_table(
        "user_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_agent", sa.String(length=300), nullable=False),
        sa.Column("source_ip", sa.String(length=64), nullable=True),
        sa.Column("mfa_pending", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_user_session_user_id_user_account"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_session")),
    )
    op.create_index(op.f("ix_user_session_user_id"), "user_session", ["user_id"], unique=False)
    op.create_table(
        "mfa_recovery_code",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"],
                                name=op.f("fk_mfa_recovery_code_user_id_user_account"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mfa_recovery_code")),
    )
    op.create_index(op.f("ix_mfa_recovery_code_user_id"), "mfa_recovery_code", ["user_id"], unique=False)
    head = op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    _backfill_audit(head)


def _backfill_audit(head: sa.Table) -> None:
    """Existing events: the organisation of the account or patient they concern (else the first clinic),
    then the hash chain in the order they were recorded."""
    from hindfoot.audit.chain import GENESIS, link_hash

    conn = op.get_bind()
    conn.execute(sa.text(
        "UPDATE audit_event SET organization_id = (SELECT organization_id FROM user_account "
        "WHERE user_account.id = audit_event.user_id) WHERE organization_id IS NULL AND user_id IS NOT NULL"))
    conn.execute(sa.text(
        "UPDATE audit_event SET organization_id = (SELECT organization_id FROM patient "
        "WHERE patient.id = audit_event.patient_id) WHERE organization_id IS NULL AND patient_id IS NOT NULL"))
    conn.execute(sa.text(
        "UPDATE audit_event SET organization_id = (SELECT id FROM organization ORDER BY created_at, id LIMIT 1) "
        "WHERE organization_id IS NULL"))
    event = sa.table("audit_event", *(sa.column(n) for n in _AUDIT_FIELDS), sa.column("seq"),
                     sa.column("prev_hash"), sa.column("hash"))
    typed = sa.select(sa.Table("audit_event", sa.MetaData(), autoload_with=conn))
    prev, seq = GENESIS, 0
    rows = conn.execute(typed.order_by(sa.text("recorded_at"), sa.text("id"))).mappings().all()
    for row in rows:
        seq += 1
        digest = link_hash(seq, prev, dict(row))
        conn.execute(sa.update(event).where(event.c.id == row["id"]).values(seq=seq, prev_hash=prev, hash=digest))
        prev = digest
    op.bulk_insert(head, [{"id": 1, "seq": seq, "hash": prev}])


def downgrade() -> None:
    op.drop_table("audit_chain_head")
    op.drop_index(op.f("ix_mfa_recovery_code_user_id"), table_name="mfa_recovery_code")
    op.drop_table("mfa_recovery_code")
    op.drop_index(op.f("ix_user_session_user_id"), table_name="user_session")
    op.drop_table("user_session")
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.drop_column("mfa_required")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("mfa_enabled_at")
        batch_op.drop_column("mfa_secret")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_event_seq"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_audit_event_organization_id"))
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")
        batch_op.drop_column("organization_id")
