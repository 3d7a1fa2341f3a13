"""report status, feedback claims: claims get their own columns instead of message_ts

Revision ID: 0008
Revises: 0006
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "status",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                nullable=False,
                server_default="posted",
            )
        )
    # message_ts held the state: "posting" while a replica posted, "" when Slack refused
    op.execute(
        "UPDATE report SET status = CASE message_ts WHEN 'posting' THEN 'posting' "
        "WHEN '' THEN 'unposted' ELSE 'posted' END"
    )
    op.execute("UPDATE report SET message_ts = '' WHERE message_ts = 'posting'")

    with op.batch_alter_table("feedback_item", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "claimed_by",
                sqlmodel.sql.sqltypes.AutoString(length=32),
                nullable=False,
                server_default="",
            )
        )
        batch_op.create_index(
            batch_op.f("ix_feedback_item_claimed_by"), ["claimed_by"], unique=False
        )
    # a routing pass that died between its claim and its post left "claim:<token>" there
    op.execute(
        "UPDATE feedback_item SET claimed_by = substr(message_ts, 7, 32), message_ts = '' "
        "WHERE message_ts LIKE 'claim:%'"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE feedback_item SET message_ts = 'claim:' || claimed_by "
        "WHERE claimed_by != '' AND message_ts = ''"
    )
    with op.batch_alter_table("feedback_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_item_claimed_by"))
        batch_op.drop_column("claimed_by")
    op.execute("UPDATE report SET message_ts = 'posting' WHERE status = 'posting'")
    op.execute("UPDATE report SET message_ts = '' WHERE status = 'unposted'")
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_column("status")
