"""Art. 12(3)/(4) deadlines: the club's receipt date, an extension (once, before the month ends, with
the reasons for the club), refusals, and the DPO's reminders before and after the due date.

Revision ID: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subject_requests") as batch:
        batch.add_column(sa.Column("club_received_on", sa.Date))
        batch.add_column(sa.Column("original_due_on", sa.Date))
        batch.add_column(sa.Column("extended_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("extension_reason", sa.Text))
    op.create_index("ix_requests_status_due", "subject_requests", ["status", "due_on"])  # App Home: soonest due
    op.create_table(
        "request_reminders",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("request_id", sa.Integer, sa.ForeignKey("subject_requests.id"), nullable=False, index=True),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("days_before", sa.Integer, nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("fired_at", sa.DateTime(timezone=True)),
        sa.Column("times_fired", sa.Integer, nullable=False, server_default="0"),
        sa.UniqueConstraint("request_id", "round", "days_before"),
    )


def downgrade() -> None:
    op.drop_table("request_reminders")
    op.drop_index("ix_requests_status_due", "subject_requests")
    with op.batch_alter_table("subject_requests") as batch:
        for name in ("extension_reason", "extended_at", "original_due_on", "club_received_on"):
            batch.drop_column(name)
