"""audit chain head keeps the previous hash of its last link, so ONE statement can move the head and
write an event with its previous hash (PostgreSQL computes the link's SHA-256; the chain is unchanged)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 19:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_chain_head", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), server_default="", nullable=False))
    # An existing chain: the head's last link is the event at its sequence number.
    op.execute("UPDATE audit_chain_head SET prev_hash = COALESCE((SELECT e.prev_hash FROM audit_event e "
               "WHERE e.seq = audit_chain_head.seq), '')")


def downgrade() -> None:
    with op.batch_alter_table("audit_chain_head", schema=None) as batch_op:
        batch_op.drop_column("prev_hash")
