"""scheduled runs: the checkpoint's and the council's decision in typed columns

The state used to live in the free-text note ("decided brake by U…", "closed: advance");
it moves to the status (decided | closed) and to decision / decided_by. The note stays,
for people.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

runs = sa.table(
    "scheduled_run",
    sa.column("id", sa.Integer),
    sa.column("job_key", sa.String),
    sa.column("status", sa.String),
    sa.column("note", sa.String),
    sa.column("decision", sa.String),
    sa.column("decided_by", sa.String),
)
records = sa.table(
    "decision_log",
    sa.column("seq", sa.Integer),
    sa.column("action", sa.String),
    sa.column("subject", sa.String),
    sa.column("actor", sa.String),
)


def _closer(connection: sa.Connection, job_key: str) -> str:
    """Who closed a council: the actor of its latest council.close record."""
    actor = connection.execute(
        sa.select(records.c.actor)
        .where(records.c.action == "council.close", records.c.subject == job_key)
        .order_by(records.c.seq.desc())
        .limit(1)
    ).scalar()
    return str(actor or "warroom")


def _backfill(connection: sa.Connection) -> None:
    rows = connection.execute(
        sa.select(runs.c.id, runs.c.job_key, runs.c.note).where(
            sa.or_(runs.c.note.like("decided %"), runs.c.note.like("closed: %"))
        )
    ).all()
    for run_id, job_key, note in rows:
        if note.startswith("decided "):  # "decided {choice} by {user}"
            choice, _, user = note.removeprefix("decided ").partition(" by ")
            values = {"status": "decided", "decision": choice, "decided_by": user}
        else:  # "closed: {outcome}"
            outcome = note.removeprefix("closed: ")
            values = {
                "status": "closed",
                "decision": outcome,
                "decided_by": _closer(connection, job_key),
            }
        connection.execute(sa.update(runs).where(runs.c.id == run_id).values(values))


def upgrade() -> None:
    with op.batch_alter_table("scheduled_run", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "decision",
                AutoString(length=16),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(
            sa.Column(
                "decided_by",
                AutoString(length=64),
                nullable=False,
                server_default="",
            )
        )
    _backfill(op.get_bind())


def downgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(runs.c.id, runs.c.status, runs.c.decision, runs.c.decided_by).where(
            runs.c.status.in_(["decided", "closed"])
        )
    ).all()
    for run_id, status, decision, decided_by in rows:
        note = (
            f"decided {decision} by {decided_by}" if status == "decided" else f"closed: {decision}"
        )
        connection.execute(
            sa.update(runs).where(runs.c.id == run_id).values(status="posted", note=note)
        )
    with op.batch_alter_table("scheduled_run", schema=None) as batch_op:
        batch_op.drop_column("decided_by")
        batch_op.drop_column("decision")
