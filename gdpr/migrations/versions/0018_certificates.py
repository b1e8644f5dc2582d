"""Certificates (issue 26): the signed certificate of an ended request, and when it was shown in the
request's thread (for requests that ended before it: never, only through the API).

Revision ID: 0018
"""
import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subject_requests") as batch:
        batch.add_column(sa.Column("certificate", sa.JSON))
        batch.add_column(sa.Column("certificate_shown_at", sa.DateTime(timezone=True)))
    # requests that ended before this version are not posted to their (old) threads all at once: their
    # certificates are signed when the club asks for one through the API
    op.execute("UPDATE subject_requests SET certificate_shown_at = CURRENT_TIMESTAMP "
               "WHERE status IN ('done', 'refused', 'rejected', 'closed')")


def downgrade() -> None:
    with op.batch_alter_table("subject_requests") as batch:
        for name in ("certificate_shown_at", "certificate"):
            batch.drop_column(name)
