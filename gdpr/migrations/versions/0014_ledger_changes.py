"""The ledger holds every change the bot makes to the platform's data, not only erasures: withdrawals and
objections too (`change`, with what `ledger replay` needs to apply it again in `detail`).

Revision ID: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("erasure_ledger") as batch:
        batch.add_column(sa.Column("change", sa.String(20), nullable=False, server_default="erasure"))
        batch.add_column(sa.Column("detail", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("erasure_ledger") as batch:
        batch.drop_column("detail")
        batch.drop_column("change")
