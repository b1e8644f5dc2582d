"""Breaches: the register, its timeline, club notices (outbox), reminders, member notices.

Revision ID: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "breaches",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("reported_by", sa.String(32), nullable=False),
        sa.Column("reported_at", TS, nullable=False),
        sa.Column("detected_at", TS, nullable=False),
        sa.Column("aware_at", TS, nullable=False),
        sa.Column("kinds", sa.JSON, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("data_categories", sa.JSON, nullable=False),
        sa.Column("subject_categories", sa.JSON, nullable=False),
        sa.Column("approx_people", sa.Integer, nullable=False),
        sa.Column("approx_records", sa.Integer, nullable=False),
        sa.Column("clubs", sa.JSON, nullable=False),
        sa.Column("consequences", sa.Text, nullable=False),
        sa.Column("measures", sa.Text, nullable=False),
        sa.Column("contact", sa.Text, nullable=False),
        sa.Column("risk", sa.String(16), nullable=False, server_default="unassessed"),
        sa.Column("notify_reasoning", sa.Text),
        sa.Column("members_decision", sa.String(16)),
        sa.Column("members_reasoning", sa.Text),
        sa.Column("delay_reason", sa.Text),
        sa.Column("remedial_actions", sa.Text),
        sa.Column("decision_reasoning", sa.Text),
        sa.Column("phase", sa.Integer, nullable=False, server_default="0"),
        sa.Column("channel_id", sa.String(32)),
        sa.Column("message_ts", sa.String(32)),
        sa.Column("closed_at", TS),
        sa.Column("closed_by", sa.String(32)),
        sa.Column("members_total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("members_done", sa.Integer, nullable=False, server_default="0"),
        sa.Column("members_last_key", sa.String(64)),
        sa.Column("members_status", sa.String(16)),
        sa.Column("members_ts", sa.String(32)),
        sa.Column("members_updated_at", TS),
    )
    op.create_table(
        "breach_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("breach_id", sa.Integer, sa.ForeignKey("breaches.id"), nullable=False, index=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_table(
        "breach_notices",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("breach_id", sa.Integer, sa.ForeignKey("breaches.id"), nullable=False, index=True),
        sa.Column("club_id", sa.String(64), nullable=False),
        sa.Column("phase", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS),
        sa.Column("last_error", sa.String(200)),
        sa.Column("sent_at", TS),
        sa.Column("late_reason", sa.Text),
        sa.UniqueConstraint("breach_id", "club_id", "phase"),
    )
    op.create_table(
        "breach_reminders",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("breach_id", sa.Integer, sa.ForeignKey("breaches.id"), nullable=False, index=True),
        sa.Column("mark_hours", sa.Integer, nullable=False),
        sa.Column("due_at", TS, nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("fired_at", TS),
        sa.Column("times_fired", sa.Integer, nullable=False, server_default="0"),
        sa.UniqueConstraint("breach_id", "mark_hours"),
    )
    op.create_table(
        "breach_member_notices",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("breach_id", sa.Integer, sa.ForeignKey("breaches.id"), nullable=False, index=True),
        sa.Column("member_key", sa.String(64), nullable=False),
        sa.Column("sent_at", TS, nullable=False),
        sa.UniqueConstraint("breach_id", "member_key"),
    )


def downgrade() -> None:
    for name in ("breach_member_notices", "breach_reminders", "breach_notices", "breach_events", "breaches"):
        op.drop_table(name)
