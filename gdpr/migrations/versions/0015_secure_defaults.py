"""Secure by default: the Slack replay guard in the state DB, refused API calls kept apart from the audit
chain, and a download link spent when its last byte is sent (a transfer under way holds it).

Revision ID: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("slack_requests_seen",
                    sa.Column("key", sa.String(64), primary_key=True),
                    sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False))
    op.create_index("ix_slack_requests_seen_seen_at", "slack_requests_seen", ["seen_at"])
    op.create_table("api_refusals",
                    sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
                    sa.Column("address_ref", sa.String(32), nullable=False),
                    sa.Column("method", sa.String(10), nullable=False),
                    sa.Column("route", sa.String(100), nullable=False),
                    sa.Column("status", sa.Integer, nullable=False))
    op.create_index("ix_api_refusals_at", "api_refusals", ["at"])
    with op.batch_alter_table("download_links") as batch:
        batch.add_column(sa.Column("sending_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("download_links") as batch:
        batch.drop_column("sending_until")
    op.drop_table("api_refusals")
    op.drop_table("slack_requests_seen")
