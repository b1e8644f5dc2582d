"""State DB: requests, decisions, audit chain.

Revision ID: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "subject_requests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(24), nullable=False, index=True),
        sa.Column("subject_type", sa.String(20), nullable=False),
        sa.Column("subject_key", sa.String(64), nullable=False),
        sa.Column("subject_ref", sa.String(64), nullable=False, index=True),
        sa.Column("club_id", sa.String(64)),
        sa.Column("open_key", sa.String(100), unique=True),
        sa.Column("requester_id", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("message_ts", sa.String(32)),
        sa.Column("approval_channel_id", sa.String(32)),
        sa.Column("approval_ts", sa.String(32)),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("decided_by", sa.String(32)),
        sa.Column("decided_at", TS),
        sa.Column("reject_reason", sa.Text),
        sa.Column("queued_at", TS),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_expires_at", TS, index=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("started_at", TS),
        sa.Column("finished_at", TS),
        sa.Column("export_name", sa.String(120)),
        sa.Column("file_id", sa.String(64)),
        sa.Column("result", sa.JSON),
        sa.Column("error", sa.Text),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("request_id", sa.Integer, sa.ForeignKey("subject_requests.id"), nullable=False, unique=True),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("at", TS, nullable=False),
    )
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False, index=True),
        sa.Column("request_id", sa.Integer, index=True),
        sa.Column("subject_ref", sa.String(64), index=True),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(sa.table("audit_head", sa.column("id"), sa.column("seq"), sa.column("last_hash")),
                   [{"id": 1, "seq": 0, "last_hash": "0" * 64}])


def downgrade() -> None:
    for name in ("audit_head", "audit_events", "decisions", "subject_requests"):
        op.drop_table(name)
