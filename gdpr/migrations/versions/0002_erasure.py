"""Erasure: preview and notice message on requests, the Art. 19 outbox, the erasure ledger.

Revision ID: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("subject_requests") as batch:
        batch.add_column(sa.Column("preview", sa.JSON))
        batch.add_column(sa.Column("notice_ts", sa.String(32)))
    op.create_table(
        "erasure_notices",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("request_id", sa.Integer, sa.ForeignKey("subject_requests.id"), nullable=False, index=True),
        sa.Column("recipient", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("external_ref", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS),
        sa.Column("last_error", sa.String(200)),
        sa.Column("sent_at", TS),
        sa.Column("reason", sa.Text),
        sa.Column("decided_by", sa.String(32)),
        sa.UniqueConstraint("request_id", "recipient"),
    )
    op.create_table(
        "erasure_ledger",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("request_id", sa.Integer, nullable=False, unique=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("subject_type", sa.String(20), nullable=False),
        sa.Column("subject_key", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("counts", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("erasure_ledger")
    op.drop_table("erasure_notices")
    with op.batch_alter_table("subject_requests") as batch:
        batch.drop_column("notice_ts")
        batch.drop_column("preview")
