"""A bulk run's `kind` is its `source` (crm_purge, retention): one word, one meaning.

Where things are shown lives with the presenter: the Slack message coordinates of requests, bulk runs
and breaches move out of the domain's tables into `shown_messages` (one row per thing and role), which
also remembers an update that could not be delivered, so it is delivered later (the latest state wins).

Revision ID: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

MOVED = [  # (table, reference prefix, role, channel column, ts column)
    ("subject_requests", "R-", "request", "channel_id", "message_ts"),
    ("subject_requests", "R-", "approval", "approval_channel_id", "approval_ts"),
    ("subject_requests", "R-", "notices", "approval_channel_id", "notice_ts"),
    ("bulk_runs", "P-", "card", "channel_id", "message_ts"),
    ("breaches", "B-", "alert", "channel_id", "message_ts"),
    ("breaches", "B-", "members", "channel_id", "members_ts"),
]


def upgrade() -> None:
    op.create_table(
        "shown_messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("ref", sa.String(40), nullable=False),  # "R-12", "P-3", "B-4": ids only, never personal data
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("ts", sa.String(32), nullable=False),
        sa.Column("stale_since", sa.DateTime(timezone=True), index=True),  # an update is owed
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.UniqueConstraint("ref", "role", name="uq_shown_ref_role"),
    )
    for table, prefix, role, channel, ts in MOVED:
        op.execute(f"INSERT INTO shown_messages (ref, role, channel, ts, attempts) "
                   f"SELECT '{prefix}' || id, '{role}', {channel}, {ts}, 0 FROM {table} "
                   f"WHERE {channel} IS NOT NULL AND {ts} IS NOT NULL")
    with op.batch_alter_table("subject_requests") as batch:
        for column in ("channel_id", "message_ts", "approval_channel_id", "approval_ts", "notice_ts"):
            batch.drop_column(column)
    with op.batch_alter_table("bulk_runs") as batch:
        batch.drop_column("channel_id")
        batch.drop_column("message_ts")
        batch.alter_column("kind", new_column_name="source", existing_type=sa.String(20))  # crm_purge | retention
    with op.batch_alter_table("breaches") as batch:
        for column in ("channel_id", "message_ts", "members_ts"):
            batch.drop_column(column)


def downgrade() -> None:
    with op.batch_alter_table("breaches") as batch:
        for column in ("channel_id", "message_ts", "members_ts"):
            batch.add_column(sa.Column(column, sa.String(32)))
    with op.batch_alter_table("bulk_runs") as batch:
        batch.alter_column("source", new_column_name="kind", existing_type=sa.String(20))
        batch.add_column(sa.Column("channel_id", sa.String(32)))
        batch.add_column(sa.Column("message_ts", sa.String(32)))
    with op.batch_alter_table("subject_requests") as batch:
        batch.add_column(sa.Column("channel_id", sa.String(32), nullable=False, server_default=""))
        for column in ("message_ts", "approval_channel_id", "approval_ts", "notice_ts"):
            batch.add_column(sa.Column(column, sa.String(32)))
    op.drop_table("shown_messages")
