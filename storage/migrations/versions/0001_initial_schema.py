"""initial schema

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decision_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("prev_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("seq", name="uq_decision_log_seq"),
    )
    with op.batch_alter_table("decision_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decision_log_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_decision_log_seq"), ["seq"], unique=False)

    op.create_table(
        "flag_state",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("segments", sa.JSON(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "processed_slack_event",
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_table(
        "rollout_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("launch_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("frozen", sa.Boolean(), nullable=False),
        sa.Column("frozen_reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("frozen_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("frozen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("freeze_seq", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "flag_user_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flag", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("segment", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_key", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["flag"],
            ["flag_state.name"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("flag", "user_key", name="uq_flag_user_rule"),
    )
    with op.batch_alter_table("flag_user_rule", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flag_user_rule_flag"), ["flag"], unique=False)

    _forbid_decision_log_changes()


# The decision log is append-only: the database itself refuses UPDATE and DELETE.
def _forbid_decision_log_changes() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER decision_log_no_{verb.lower()} BEFORE {verb} ON decision_log "
                "BEGIN SELECT RAISE(ABORT, 'decision_log is append-only'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION decision_log_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'decision_log is append-only'; END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER decision_log_append_only BEFORE UPDATE OR DELETE ON decision_log "
            "FOR EACH ROW EXECUTE FUNCTION decision_log_append_only()"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS decision_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS decision_log_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS decision_log_append_only ON decision_log")
        op.execute("DROP FUNCTION IF EXISTS decision_log_append_only()")
    with op.batch_alter_table("flag_user_rule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flag_user_rule_flag"))

    op.drop_table("flag_user_rule")
    op.drop_table("rollout_state")
    op.drop_table("processed_slack_event")
    op.drop_table("flag_state")
    with op.batch_alter_table("decision_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_log_seq"))
        batch_op.drop_index(batch_op.f("ix_decision_log_action"))

    op.drop_table("decision_log")
