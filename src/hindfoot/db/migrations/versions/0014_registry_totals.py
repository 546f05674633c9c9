"""registry dashboard totals: pre-aggregated rows per organisation and sport (registry_total_*), and
where each episode counts in them (new registry_episode columns); rebuilt from the record

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-03 13:30:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOTALS = ("registry_total_start", "registry_total_anchor", "registry_total_score", "registry_total_km",
          "registry_total_procedure")


def _keyed(name: str, *columns: sa.Column, keys: tuple[str, ...]) -> None:
    op.create_table(
        name,
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("sport", sa.String(length=40), nullable=False),
        *columns,
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"],
                                name=op.f(f"fk_{name}_organization_id_organization"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("organization_id", "sport", *keys, name=op.f(f"pk_{name}")),
    )


def _ints(*names: str) -> list[sa.Column]:
    return [sa.Column(n, sa.Integer(), nullable=False) for n in names]


def upgrade() -> None:
    with op.batch_alter_table("registry_episode", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organization_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("patient_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("sport", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("start_day", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("anchor_day", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("first_of_patient", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("procedures", sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f("ix_registry_episode_patient_id"), ["patient_id"], unique=False)
    _keyed("registry_total_start", sa.Column("day", sa.Date(), nullable=False),
           *_ints("episodes", "patients", "done_baseline", "rts_answered", "rts_returned", "rts_previous"),
           keys=("day",))
    _keyed("registry_total_anchor", sa.Column("day", sa.Date(), nullable=False),
           *_ints("episodes", "done_6w", "done_3m", "done_6m", "done_12m"), keys=("day",))
    _keyed("registry_total_score", sa.Column("code", sa.String(length=80), nullable=False),
           sa.Column("timepoint", sa.String(length=10), nullable=False), *_ints("n"),
           *(sa.Column(n, sa.BigInteger(), nullable=False) for n in ("baseline_sum", "follow_up_sum", "change_sum")),
           *_ints("above_mcid"), keys=("code", "timepoint"))
    _keyed("registry_total_km", *_ints("days", "event", "n"), keys=("days", "event"))
    _keyed("registry_total_procedure", sa.Column("complication", sa.String(length=200), nullable=False),
           *_ints("surgical", "n"), keys=("complication", "surgical"))
    # every episode's rows and the totals, from the record (the application's own derivation, so
    # the backfill is exactly what the running application keeps in step)
    from hindfoot.db.models.registry import refresh_registry

    refresh_registry(op.get_bind())


def downgrade() -> None:
    for name in reversed(TOTALS):
        op.drop_table(name)
    with op.batch_alter_table("registry_episode", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_episode_patient_id"))
        for column in ("procedures", "first_of_patient", "anchor_day", "start_day", "sport", "patient_id",
                       "organization_id"):
            batch_op.drop_column(column)
