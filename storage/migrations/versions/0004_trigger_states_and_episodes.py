"""trigger states and episodes

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("checklist_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("live", sa.JSON(), nullable=True))
    op.create_table(
        "alert_state",
        sa.Column("metric", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("warned_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("metric"),
    )
    op.create_table(
        "trigger_episode",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trigger", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("open_key", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("breach_started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("fired_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("alerted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("resolved_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("trigger", "open_key", name="uq_trigger_episode_open"),
    )
    with op.batch_alter_table("trigger_episode", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trigger_episode_trigger"), ["trigger"], unique=False)

    op.create_table(
        "trigger_state",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("pending_since", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_value", sa.Float(), nullable=True),
        sa.Column("last_sample_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_data_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("nodata_warned", sa.Boolean(), nullable=False),
        sa.Column("error_reported", sa.Boolean(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    with op.batch_alter_table("checklist_state", schema=None) as batch_op:
        batch_op.drop_column("live")
    op.drop_table("trigger_state")
    with op.batch_alter_table("trigger_episode", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trigger_episode_trigger"))

    op.drop_table("trigger_episode")
    op.drop_table("alert_state")
