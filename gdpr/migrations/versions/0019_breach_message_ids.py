"""The breach file for the authority (issue 26): the Message-ID each club notice went out with, so the file
shows which mail carried which notice (Art. 33(5)).

Revision ID: 0019
"""
import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("breach_notices") as batch:
        batch.add_column(sa.Column("message_id", sa.String(250)))


def downgrade() -> None:
    with op.batch_alter_table("breach_notices") as batch:
        batch.drop_column("message_id")
