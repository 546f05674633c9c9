"""outcomes registry summary tables (registry_score, registry_episode), backfilled from the record

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 12:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMEPOINTS = ("baseline", "6w", "3m", "6m", "12m")
RETURNED_PREVIOUS = ("returned_previous_level", "returned_higher_level")


def upgrade() -> None:
    op.create_table(
        "registry_score",
        sa.Column("episode_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=80), nullable=False),
        *(sa.Column(f"tp_{tp}", sa.Double(), nullable=True) for tp in TIMEPOINTS),
        sa.ForeignKeyConstraint(["episode_id"], ["episode_of_care.id"],
                                name=op.f("fk_registry_score_episode_id_episode_of_care"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("episode_id", "code", name=op.f("pk_registry_score")),
    )
    op.create_table(
        "registry_episode",
        sa.Column("episode_id", sa.Uuid(), nullable=False),
        *(sa.Column(f"done_{tp}", sa.Integer(), nullable=False) for tp in TIMEPOINTS),
        sa.Column("rts_answers", sa.Integer(), nullable=False),
        sa.Column("rts_returned_on", sa.String(length=300), nullable=True),
        sa.Column("rts_last_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rts_previous", sa.Integer(), nullable=False),
        sa.Column("rts_returned", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["episode_id"], ["episode_of_care.id"],
                                name=op.f("fk_registry_episode_episode_id_episode_of_care"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("episode_id", name=op.f("pk_registry_episode")),
    )
    _backfill()


def _backfill() -> None:
    """The same aggregates the application keeps in step (hindfoot.db.models.registry), over all episodes."""
    obs = sa.table("observation", sa.column("episode_id", sa.Uuid()), sa.column("code", sa.String()),
                   sa.column("questionnaire_response_id", sa.Uuid()), sa.column("value_quantity", sa.Float()),
                   sa.column("value_string", sa.String()), sa.column("effective_at", sa.DateTime(timezone=True)))
    qr = sa.table("questionnaire_response", sa.column("id", sa.Uuid()), sa.column("episode_id", sa.Uuid()),
                  sa.column("timepoint", sa.String()), sa.column("status", sa.String()))
    episode = sa.table("episode_of_care", sa.column("id", sa.Uuid()))
    score = sa.table("registry_score", *(sa.column(c) for c in ("episode_id", "code",
                                                                 *(f"tp_{tp}" for tp in TIMEPOINTS))))
    summary = sa.table("registry_episode", *(sa.column(c) for c in (
        "episode_id", *(f"done_{tp}" for tp in TIMEPOINTS), "rts_answers", "rts_returned_on", "rts_last_seen",
        "rts_previous", "rts_returned")))

    scores = (
        sa.select(obs.c.episode_id, obs.c.code,
                  *(sa.func.avg(sa.case((qr.c.timepoint == tp, obs.c.value_quantity))) for tp in TIMEPOINTS))
        .join(qr, qr.c.id == obs.c.questionnaire_response_id)
        .where(obs.c.episode_id.is_not(None), obs.c.value_quantity.is_not(None))
        .group_by(obs.c.episode_id, obs.c.code)
    )
    op.execute(sa.insert(score).from_select(list(score.c.keys()), scores))

    done = (
        sa.select(qr.c.episode_id, *(sa.func.max(sa.case((qr.c.timepoint == tp, 1), else_=0)).label(f"d_{tp}")
                                     for tp in TIMEPOINTS))
        .where(qr.c.status == "completed", qr.c.episode_id.is_not(None))
        .group_by(qr.c.episode_id).subquery("done")
    )
    rts = (
        sa.select(obs.c.episode_id, sa.func.count().label("answers"),
                  sa.func.min(sa.case((obs.c.code == "rts.date", obs.c.value_string))).label("returned_on"),
                  sa.func.max(sa.case((obs.c.code == "rts.status", obs.c.effective_at))).label("last_seen"),
                  sa.func.max(sa.case((obs.c.value_string.in_(RETURNED_PREVIOUS), 1), else_=0)).label("previous"),
                  sa.func.max(sa.case((sa.and_(obs.c.code == "rts.status", obs.c.value_string != "not_returned"), 1),
                                      else_=0)).label("returned"))
        .where(obs.c.code.in_(("rts.status", "rts.date")), obs.c.episode_id.is_not(None))
        .group_by(obs.c.episode_id).subquery("rts")
    )
    episodes = (
        sa.select(episode.c.id, *(sa.func.coalesce(done.c[f"d_{tp}"], 0) for tp in TIMEPOINTS),
                  sa.func.coalesce(rts.c.answers, 0), rts.c.returned_on, rts.c.last_seen,
                  sa.func.coalesce(rts.c.previous, 0), sa.func.coalesce(rts.c.returned, 0))
        .outerjoin(done, done.c.episode_id == episode.c.id)
        .outerjoin(rts, rts.c.episode_id == episode.c.id)
        .where(sa.or_(done.c.episode_id.is_not(None), rts.c.episode_id.is_not(None)))
    )
    op.execute(sa.insert(summary).from_select(list(summary.c.keys()), episodes))


def downgrade() -> None:
    op.drop_table("registry_episode")
    op.drop_table("registry_score")
