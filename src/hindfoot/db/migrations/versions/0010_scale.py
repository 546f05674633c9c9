"""clinic-group scale: each patient's current episode and its stage, and the text a search matches,
kept on the patient (backfilled); indexes for the patient list in name order (with and without a
stage filter); on PostgreSQL a trigram index (pg_trgm) over the searched text; the organisation's
own index on patient goes (the new ones lead with it)

Revision ID: 0010
Revises: 0011
Create Date: 2026-12-03 09:45:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEPARATOR = "\x1f"  # as hindfoot.db.models.patient.search_text_of


def _search_text(given: str, family: str, identifier: str, email: str | None, sport: str) -> str:
    return SEPARATOR.join((f"{given} {family}", identifier, email or "", sport)).lower()


def upgrade() -> None:
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(sa.Column("current_episode_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("current_stage", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
    op.execute(
        "UPDATE patient SET "
        "current_episode_id = (SELECT e.id FROM episode_of_care e WHERE e.patient_id = patient.id "
        "ORDER BY e.period_start DESC, e.created_at DESC, e.id DESC LIMIT 1), "
        "current_stage = (SELECT e.stage FROM episode_of_care e WHERE e.patient_id = patient.id "
        "ORDER BY e.period_start DESC, e.created_at DESC, e.id DESC LIMIT 1)"
    )
    bind = op.get_bind()
    patient = sa.table("patient", sa.column("id", sa.Uuid()), sa.column("given_name"), sa.column("family_name"),
                       sa.column("identifier"), sa.column("email"), sa.column("sport"), sa.column("search_text"))
    rows = bind.execute(sa.select(patient.c.id, patient.c.given_name, patient.c.family_name, patient.c.identifier,
                                  patient.c.email, patient.c.sport)).all()
    update = sa.update(patient).where(patient.c.id == sa.bindparam("pid")).values(search_text=sa.bindparam("text"))
    for i in range(0, len(rows), 5000):
        bind.execute(update, [{"pid": r[0], "text": _search_text(*r[1:])} for r in rows[i: i + 5000]])
    op.create_index("ix_patient_org_name", "patient", ["organization_id", "family_name", "given_name", "id"])
    op.create_index("ix_patient_stage_org_name", "patient",
                    ["current_stage", "organization_id", "family_name", "given_name", "id"])
    # the list's indexes (and the unique record number) lead with the organisation: its own index only
    # tempts a planner without statistics into reading a whole organisation to sort it
    op.drop_index("ix_patient_organization_id", table_name="patient")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_constraint("uq_patient_organization_id", type_="unique")
        batch_op.create_unique_constraint("uq_patient_identifier", ["identifier", "organization_id"])
    if bind.dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_patient_search_trgm ON patient USING gin (search_text gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_patient_search_trgm")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_constraint("uq_patient_identifier", type_="unique")
        batch_op.create_unique_constraint("uq_patient_organization_id", ["organization_id", "identifier"])
    op.create_index("ix_patient_organization_id", "patient", ["organization_id"])
    op.drop_index("ix_patient_stage_org_name", table_name="patient")
    op.drop_index("ix_patient_org_name", table_name="patient")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_column("search_text")
        batch_op.drop_column("current_stage")
        batch_op.drop_column("current_episode_id")
