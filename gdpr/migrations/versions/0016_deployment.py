"""A deployment's identity: one random key, made with the state database, that marks the folders its
processes write (EXPORT_DIR, a local BACKUP_DIR), so a second deployment pointed at the same folder is
refused instead of sweeping the first one's archives as leftovers.

Revision ID: 0016
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table("deployment",
                            sa.Column("id", sa.Integer, primary_key=True),
                            sa.Column("key", sa.String(32), nullable=False))
    op.bulk_insert(table, [{"id": 1, "key": secrets.token_hex(16)}])


def downgrade() -> None:
    op.drop_table("deployment")
