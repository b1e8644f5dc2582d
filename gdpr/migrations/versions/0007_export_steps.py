"""An export's steps are recorded before the next one: the archive (export_name), then the moment the
passphrase reached the requester, so a retry reuses the archive and never sends a second passphrase.
An erasure's ledger row is written before it runs (planned counts, the identifiers sealed) and confirmed
after, so a job that dies in between reports what was done and still proves it. With two databases, a
bulk batch is recorded as pending before it commits in the system DB and booked after (two phases).

Revision ID: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subject_requests") as batch:
        batch.add_column(sa.Column("passphrase_sent_at", sa.DateTime(timezone=True)))
    with op.batch_alter_table("erasure_ledger") as batch:
        batch.add_column(sa.Column("confirmed", sa.Boolean, nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("sealed", sa.Text))
    with op.batch_alter_table("bulk_runs") as batch:
        batch.add_column(sa.Column("pending", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("bulk_runs") as batch:
        batch.drop_column("pending")
    with op.batch_alter_table("erasure_ledger") as batch:
        batch.drop_column("sealed")
        batch.drop_column("confirmed")
    with op.batch_alter_table("subject_requests") as batch:
        batch.drop_column("passphrase_sent_at")
