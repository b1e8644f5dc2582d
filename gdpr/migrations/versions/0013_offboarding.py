"""Club offboarding rides on a bulk run: what it adds (the export returned, the signed statement) is kept with it.

Revision ID: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bulk_runs") as batch:
        batch.add_column(sa.Column("artifacts", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bulk_runs") as batch:
        batch.drop_column("artifacts")
