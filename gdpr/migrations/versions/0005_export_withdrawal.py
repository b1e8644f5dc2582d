"""Exports leave Slack too: when (and why) a request's archive was deleted from the server and the thread.
Bulk erasures tell recipients: an Art. 19 notice belongs to a request, or to a bulk run and one of its subjects.
Art. 34 on instruction: the clubs that instructed a breach's member notices, and the members the DPO named.

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
    with op.batch_alter_table("breaches") as batch:
        batch.add_column(sa.Column("members_instructed", sa.JSON))
        batch.add_column(sa.Column("members_target", sa.JSON))
    with op.batch_alter_table("erasure_notices") as batch:
        batch.alter_column("request_id", existing_type=sa.Integer, nullable=True)
        batch.add_column(sa.Column("run_id", sa.Integer, sa.ForeignKey("bulk_runs.id", name="fk_notice_run"),
                                   nullable=True))
        batch.add_column(sa.Column("subject_key", sa.String(64), nullable=True))  # internal key, as the ledger
        batch.create_unique_constraint("uq_notice_run_subject", ["run_id", "subject_key", "recipient"])
        batch.create_index("ix_erasure_notices_run_id", ["run_id"])


def downgrade() -> None:
    with op.batch_alter_table("breaches") as batch:
        batch.drop_column("members_target")
        batch.drop_column("members_instructed")
    with op.batch_alter_table("erasure_notices") as batch:
        batch.drop_index("ix_erasure_notices_run_id")
        batch.drop_constraint("uq_notice_run_subject", type_="unique")
        batch.drop_column("subject_key")
        batch.drop_constraint("fk_notice_run", type_="foreignkey")
        batch.drop_column("run_id")
    with op.batch_alter_table("subject_requests") as batch:
        batch.drop_column("export_deleted_at")
        batch.drop_column("export_delete_reason")
