"""Exports leave Slack too: when (and why) a request's archive was deleted from the server and the thread.

Revision ID: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subject_requests") as batch:
        batch.add_column(sa.Column("export_delete_reason", sa.String(60)))
        batch.add_column(sa.Column("export_deleted_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("subject_requests") as batch:
        batch.drop_column("export_deleted_at")
        batch.drop_column("export_delete_reason")
