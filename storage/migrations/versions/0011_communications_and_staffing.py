"""communications and support staffing: the launch communications calendar (one row per
communication and launch time), the support staffing check and who said they are on duty

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "communication",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("due_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("message_ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("sent_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("sent_link", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
        sa.Column("reminded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("escalated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("paused_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("paused_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", "due_at", name="uq_communication_due"),
    )
    with op.batch_alter_table("communication", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_communication_due_at"), ["due_at"], unique=False)

    op.create_table(
        "staffing_check",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("required", sa.Integer(), nullable=False),
        sa.Column("confirmed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("reminded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["scheduled_run.id"],
        ),
        sa.PrimaryKeyConstraint("run_id"),
    )
    op.create_table(
        "staffing_duty",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("user", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["staffing_check.run_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "user", name="uq_staffing_duty"),
    )
    with op.batch_alter_table("staffing_duty", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staffing_duty_run_id"), ["run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("staffing_duty", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staffing_duty_run_id"))

    op.drop_table("staffing_duty")
    op.drop_table("staffing_check")
    with op.batch_alter_table("communication", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_communication_due_at"))

    op.drop_table("communication")
