"""Restriction and rectification on the club's instruction (issue 26): a rectification's values, sealed, on
its request until applied, and in the ledger (sealed) so a restore from an older backup applies them again.

Revision ID: 0020
"""
import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subject_requests") as batch:
        batch.add_column(sa.Column("instruction", sa.Text))
    with op.batch_alter_table("erasure_ledger") as batch:
        batch.add_column(sa.Column("corrected", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("erasure_ledger") as batch:
        batch.drop_column("corrected")
    with op.batch_alter_table("subject_requests") as batch:
        batch.drop_column("instruction")
