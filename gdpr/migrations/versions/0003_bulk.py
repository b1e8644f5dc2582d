"""Bulk runs (CRM purge, retention policies), retention schedules, the scheduler's lease.

Revision ID: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "bulk_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("policy", sa.String(64), nullable=False),
        sa.Column("slot_key", sa.String(120), unique=True),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("as_of", TS, nullable=False),
        sa.Column("status", sa.String(24), nullable=False, index=True),
        sa.Column("requester_id", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32)),
        sa.Column("message_ts", sa.String(32)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("preview", sa.JSON),
        sa.Column("needs_approval", sa.Text),
        sa.Column("total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("done", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_key", sa.String(64)),
        sa.Column("counts", sa.JSON),
        sa.Column("residue", sa.Integer),
        sa.Column("decided_by", sa.String(32)),
        sa.Column("decided_at", TS),
        sa.Column("reject_reason", sa.Text),
        sa.Column("queued_at", TS),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_expires_at", TS),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("started_at", TS),
        sa.Column("finished_at", TS, index=True),
        sa.Column("error", sa.Text),
    )
    op.create_table(
        "retention_schedules",
        sa.Column("policy", sa.String(64), primary_key=True),
        sa.Column("last_slot", TS, nullable=False),
    )
    op.create_table(
        "scheduler_lease",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("owner", sa.String(64)),
        sa.Column("expires_at", TS),
    )


def downgrade() -> None:
    op.drop_table("scheduler_lease")
    op.drop_table("retention_schedules")
    op.drop_table("bulk_runs")
